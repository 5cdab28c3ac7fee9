"""What QA installs before a repository's tests run. Pure: repository files and trusted settings in,
a `SetupPlan` out; `testenv.py` carries it out.

Trust: whether anything is installed, and how, comes only from the operator (`WAVE_QA_SETUP`) or from
`.wave/qa.toml` on the target branch at the run's base commit — never from the commit under test,
which could otherwise make QA fetch and run what it likes outside the sandbox. The commit under test
only supplies the dependency lists (requirements, pyproject.toml, package.json and its lock, go.mod
and go.sum); installing them runs no code of theirs (wheels only, npm scripts off, `go mod download`).

`setup` values: "auto" (every ecosystem detected), "none", or a list of "python", "node", "go".
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

ECOSYSTEMS = ("python", "node", "go")
AUTO = ("auto",)  # set up every ecosystem detected
DEFAULT_EXTRAS = ("test", "tests", "testing", "dev")
NODE_LOCKFILES = ("package-lock.json", "npm-shrinkwrap.json")
_REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[A-Za-z0-9._,\s-]*\])?\s*([<>=!~;(].*)?$")


class SetupConfigError(ValueError):
    """The trusted setup settings cannot be used."""


@dataclass(frozen=True)
class SetupConfig:
    """The trusted setup settings. `ecosystems` None: nothing configured (QA only proposes)."""

    ecosystems: tuple[str, ...] | None = None
    extras: tuple[str, ...] = DEFAULT_EXTRAS  # pyproject optional-dependencies / dependency-groups to install
    requirements: tuple[str, ...] | None = None  # requirement files; None: every requirements*.txt at the root
    source: str = "nothing configured"

    @property
    def configured(self) -> bool:
        return self.ecosystems is not None


@dataclass(frozen=True)
class SetupPlan:
    ecosystems: tuple[str, ...]
    python_requirements: tuple[str, ...] = ()
    node_lockfile: str | None = None  # `npm ci` with it, `npm install` without
    declares_dependencies: bool = False  # any requirement, npm dependency or go `require` at all
    inputs: tuple[str, ...] = ()  # repository files whose contents decide what gets installed
    skipped: tuple[str, ...] = ()  # requirement lines not installed (URLs, paths, pip options)
    source: str = "detected"

    def describe(self) -> str:
        parts = []
        for ecosystem in self.ecosystems:
            if ecosystem == "python":
                shown = ", ".join(self.python_requirements[:8]) + (" …" if len(self.python_requirements) > 8 else "")
                parts.append(f"python: pip install {shown}" if shown else "python: a venv, nothing to install")
            elif ecosystem == "node":
                parts.append("node: npm ci" if self.node_lockfile else "node: npm install")
            elif ecosystem == "go":
                parts.append("go: go mod download")
        text = "; ".join(parts) or "nothing to install"
        if self.skipped:
            text += f" (not installed: {', '.join(self.skipped[:5])})"
        return text

    def cache_key(self, input_digests: Mapping[str, str], toolchain: str) -> str:
        """A hash of the plan, the installing toolchain and the contents of its input files."""
        payload = json.dumps(
            {"plan": [self.ecosystems, self.python_requirements, self.node_lockfile], "toolchain": toolchain,
             "inputs": sorted(input_digests.items())},
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:24]


def read_setup_config(text: str | None, *, source: str) -> SetupConfig:
    """The setup keys of a trusted .wave/qa.toml (`setup`, `python_extras`, `requirements`)."""
    if text is None:
        return SetupConfig()
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SetupConfigError(f"{source}: {exc}") from exc
    if "setup" not in document:
        return SetupConfig()
    extras = document.get("python_extras", list(DEFAULT_EXTRAS))
    requirements = document.get("requirements")
    if not _strings(extras) or (requirements is not None and not _strings(requirements)):
        raise SetupConfigError(f"{source}: python_extras and requirements must be lists of strings")
    return SetupConfig(
        parse_setup_value(document["setup"], source=source), tuple(extras),
        tuple(requirements) if requirements is not None else None, source,
    )


def parse_setup_value(value: object, *, source: str) -> tuple[str, ...]:
    """"auto" -> AUTO (detect), "none" -> (), a name or list of names -> those ecosystems."""
    names = [value] if isinstance(value, str) else value
    if not _strings(names):
        raise SetupConfigError(f"{source}: setup must be \"auto\", \"none\" or a list of {', '.join(ECOSYSTEMS)}")
    lowered = [str(n).strip().lower() for n in names]  # type: ignore[union-attr]
    if lowered == ["auto"]:
        return AUTO
    if lowered == ["none"] or not lowered:
        return ()
    unknown = [n for n in lowered if n not in ECOSYSTEMS]
    if unknown:
        raise SetupConfigError(f"{source}: unknown setup {unknown[0]!r}: use auto, none, {', '.join(ECOSYSTEMS)}")
    return tuple(dict.fromkeys(lowered))


def detect_ecosystems(files: Mapping[str, str]) -> tuple[str, ...]:
    found = []
    if "pyproject.toml" in files or "setup.py" in files or any(is_requirements_file(p) for p in files):
        found.append("python")
    if "package.json" in files:
        found.append("node")
    if "go.mod" in files:
        found.append("go")
    return tuple(found)


def plan_setup(files: Mapping[str, str], config: SetupConfig, *, propose: bool = False) -> SetupPlan | None:
    """The setup for these files: the configured ecosystems, or ("auto") every one detected. Nothing
    configured: None, unless `propose` (what QA would set up). None when there is nothing to set up."""
    if config.ecosystems is None and not propose:
        return None
    wanted = config.ecosystems
    ecosystems = detect_ecosystems(files) if wanted is None or wanted == AUTO else wanted
    if not ecosystems:
        return None
    requirements: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    inputs: list[str] = []
    lockfile = None
    if "python" in ecosystems:
        requirements, skipped, python_inputs = python_requirements(files, config.extras, config.requirements)
        inputs += python_inputs
    if "node" in ecosystems:
        lockfile = next((name for name in NODE_LOCKFILES if name in files), None)
        inputs += ["package.json"] + ([lockfile] if lockfile else [])
    if "go" in ecosystems:
        inputs += [name for name in ("go.mod", "go.sum") if name in files]
    source = config.source if config.configured else "detected"
    declares = bool(requirements) or ("node" in ecosystems and _npm_dependencies(files.get("package.json"))) or (
        "go" in ecosystems and re.search(r"^\s*require\b", files.get("go.mod", ""), re.MULTILINE) is not None)
    return SetupPlan(tuple(ecosystems), requirements, lockfile, declares, tuple(dict.fromkeys(inputs)), skipped, source)


def _npm_dependencies(text: str | None) -> bool:
    try:
        document = json.loads(text or "{}")
    except ValueError:
        return False
    return isinstance(document, dict) and any(document.get(k) for k in ("dependencies", "devDependencies"))


def is_requirements_file(path: str) -> bool:
    p = PurePosixPath(path)
    return p.suffix == ".txt" and "requirements" in p.name and len(p.parts) <= 2


def python_requirements(
    files: Mapping[str, str], extras: tuple[str, ...], requirement_files: tuple[str, ...] | None
) -> tuple[tuple[str, ...], tuple[str, ...], list[str]]:
    """(requirements to install, lines left out, the files read). From pyproject.toml: the project's
    dependencies, the optional-dependencies and dependency-groups named in `extras`; and the
    requirement files. Only plain requirement specifiers: a URL, a path or a pip option is left out."""
    lines: list[str] = []
    inputs: list[str] = []
    pyproject = files.get("pyproject.toml")
    if pyproject:
        inputs.append("pyproject.toml")
        try:
            document = tomllib.loads(pyproject)
        except tomllib.TOMLDecodeError:
            document = {}
        project = document.get("project", {})
        lines += _string_items(project.get("dependencies"))
        optional = project.get("optional-dependencies", {})
        groups = document.get("dependency-groups", {})
        for extra in extras:
            lines += _string_items(optional.get(extra) if isinstance(optional, dict) else None)
            lines += _string_items(groups.get(extra) if isinstance(groups, dict) else None)
    names = requirement_files if requirement_files is not None else tuple(
        sorted(p for p in files if is_requirements_file(p) and len(PurePosixPath(p).parts) == 1)
    )
    for name in names:
        if name in files:
            inputs.append(name)
            lines += files[name].splitlines()
    kept: list[str] = []
    skipped: list[str] = []
    for raw in lines:
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if _REQUIREMENT.match(line) and "://" not in line and " @ " not in line and "@" not in line.split(";")[0]:
            kept.append(line)
        else:
            skipped.append(line)
    return tuple(dict.fromkeys(kept)), tuple(dict.fromkeys(skipped)), inputs


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _string_items(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def proposal(plan: SetupPlan | None) -> str:
    """What QA says when nothing is configured: the setup it would use, and how to turn it on; nothing
    for a project that declares no dependency."""
    if plan is None or not plan.declares_dependencies:
        return ""
    names = ", ".join(f'"{e}"' for e in plan.ecosystems)
    return f"no setup configured; detected {plan.describe()}: add setup = [{names}] to .wave/qa.toml on the target branch"
