"""Test images for the Docker sandboxes: built FROM the base image (deploy/base-image.sh) with what the
trusted setup installs, tagged by a hash of that recipe, and reused while it is unchanged.

What goes into an image is decided like the host's prepared environments (prepare.py): the ecosystems
come from the trusted settings only (WAVE_QA_SETUP, or `.wave/qa.toml` on the target branch at the
run's base commit); the commit under test supplies nothing but its dependency lists, and installing
them runs none of its code (wheels only, npm scripts off, `go mod download`). Every image has a Python
virtualenv with pytest, the runner QA detects for Python projects.

The recipe is pure (`ImageRecipe`); `TestImages` builds it through the daemon, with the host's
network (the container network is off on QA's daemons), one build per recipe at a time. The
installers inside the build reach the registries the way QA's own installers do: the operator's
index and proxy settings (testenv.INSTALLER_SETTINGS) are build arguments, and the CA bundle they
trust (SSL_CERT_FILE, PIP_CERT or REQUESTS_CA_BUNDLE: certificates, public) is copied in.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import logging
import os
import shlex
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..prepare import SetupPlan
from ..sandbox import Mounts
from ..testenv import INSTALLER_SETTINGS

log = logging.getLogger("wave.qa")

TEST_IMAGE_REPO = "wave-qa-test"
IMAGE_ROOT = "/opt/wave-qa"
VENV = f"{IMAGE_ROOT}/venv"
# Node looks for packages in every parent directory of the checkout up to /: /node_modules is found
# wherever the checkout is mounted, without touching it.
NODE_MODULES = f"{IMAGE_ROOT}/node/node_modules"
GOMODCACHE = f"{IMAGE_ROOT}/gomodcache"
TEST_RUNNER = "pytest>=8,<10"  # the runner of the detected Python command, in every image
# Debian packages an ecosystem needs in the image (the base has Python 3.11 only).
DEBIAN_PACKAGES = {"node": ("nodejs", "npm"), "go": ("golang-go", "ca-certificates")}
_OUTPUT_TAIL = 3000
INSTALLER_CA = "installer-ca.crt"  # in the build context, from the host's CA settings
_IMAGE_CA = f"/usr/local/share/wave-qa/{INSTALLER_CA}"
CA_SETTINGS = ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")


class ImageBuildError(Exception):
    """The test image could not be built; the message ends with the build's output."""


@dataclass(frozen=True)
class ImageRecipe:
    """What a test image holds: the base, the ecosystems' packages and the dependencies to install."""

    base: str  # the base image's id (sha256:...), so a rebuilt base makes new test images
    plan: SetupPlan | None
    inputs: Mapping[str, bytes] = field(default_factory=dict)  # dependency files, copied into the build
    installer_settings: tuple[str, ...] = ()  # names of the build arguments the installers read
    ca_bundle: bytes | None = None  # the CA bundle the installers trust, when the host names one

    def dockerfile(self) -> str:
        plan = self.plan
        ecosystems = plan.ecosystems if plan is not None else ()
        lines = [f"FROM {self.base}", "USER root", *(f"ARG {name}" for name in self.installer_settings)]
        if self.ca_bundle is not None:  # build arguments only: the image's own settings stay Debian's
            lines += [f"COPY {INSTALLER_CA} {_IMAGE_CA}",
                      *(f"ARG {name}={_IMAGE_CA}" for name in (*CA_SETTINGS, "NODE_EXTRA_CA_CERTS", "npm_config_cafile"))]
        packages = sorted({p for e in ecosystems for p in DEBIAN_PACKAGES.get(e, ())})
        if packages:
            lines.append(
                "RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                f"--no-install-recommends {' '.join(packages)} >/dev/null && rm -rf /var/lib/apt/lists/*"
            )
        requirements = [TEST_RUNNER, *(plan.python_requirements if plan and "python" in ecosystems else ())]
        lines += [
            f"RUN python3 -m venv {VENV} && {VENV}/bin/pip install -q --disable-pip-version-check --no-input "
            f"--no-cache-dir --only-binary=:all: -- {' '.join(shlex.quote(r) for r in requirements)}",
            # `python` and `pytest` on the system PATH too, for commands run without the image's mounts
            *(f"RUN printf '#!/bin/sh\\nexec {VENV}/bin/{tool} \"$@\"\\n' > /usr/local/bin/{tool} "
              f"&& chmod 755 /usr/local/bin/{tool}" for tool in ("python", "pytest")),
        ]
        if "node" in ecosystems and plan is not None:
            lock = [plan.node_lockfile] if plan.node_lockfile else []
            verb = "ci" if plan.node_lockfile else "install --no-package-lock"
            lines += [
                f"COPY {' '.join(['package.json', *lock])} {IMAGE_ROOT}/node/",
                f"RUN cd {IMAGE_ROOT}/node && npm {verb} --ignore-scripts --no-audit --no-fund "
                f"&& mkdir -p node_modules && ln -s {NODE_MODULES} /node_modules && rm -rf /root/.npm",
            ]
        if "go" in ecosystems and plan is not None:
            go_files = [name for name in ("go.mod", "go.sum") if name in self.inputs]
            lines += [
                f"COPY {' '.join(go_files)} {IMAGE_ROOT}/go-src/",
                f"RUN cd {IMAGE_ROOT}/go-src && GOMODCACHE={GOMODCACHE} GOFLAGS=-mod=mod GOTOOLCHAIN=local "
                f"GOTELEMETRY=off go mod download && mkdir -p {GOMODCACHE} && rm -rf {IMAGE_ROOT}/go-src /root/.cache",
            ]
        lines.append(f"LABEL wave.qa.test-image=true wave.qa.base={self.base}")
        return "\n".join(lines) + "\n"

    def copied(self) -> dict[str, bytes]:
        """The files the Dockerfile copies: the dependency files it needs, the installers' CA bundle."""
        plan = self.plan
        ca = {INSTALLER_CA: self.ca_bundle} if self.ca_bundle is not None else {}
        if plan is None:
            return ca
        names: list[str] = []
        if "node" in plan.ecosystems:
            names += ["package.json", *([plan.node_lockfile] if plan.node_lockfile else [])]
        if "go" in plan.ecosystems:
            names += ["go.mod", "go.sum"]
        return {**ca, **{name: self.inputs[name] for name in names if name in self.inputs}}

    def key(self) -> str:
        """A hash of the recipe: the Dockerfile (base, packages, requirements) and the files it copies."""
        payload = json.dumps(
            {"dockerfile": self.dockerfile(),
             "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(self.copied().items())}},
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:24]

    def tag(self) -> str:
        return f"{TEST_IMAGE_REPO}:{self.key()}"

    def context(self) -> bytes:
        """The build context: a tar with the Dockerfile and the copied files, fixed mtimes."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for name, data in sorted({"Dockerfile": self.dockerfile().encode(), **self.copied()}.items()):
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = len(data), 0, 0o644
                tar.addfile(info, io.BytesIO(data))
        return buffer.getvalue()


def image_mounts(plan: SetupPlan | None, image: str) -> tuple[Mounts, dict[str, str]]:
    """Pure: what a run in a test image gets: the image, its virtualenv first on PATH, and the
    variables that point the tools at what the image installed."""
    env = {"VIRTUAL_ENV": VENV}
    path_dirs = [f"{VENV}/bin"]
    if plan is not None and "node" in plan.ecosystems:
        path_dirs.append("/node_modules/.bin")
    if plan is not None and "go" in plan.ecosystems:
        env.update({"GOMODCACHE": GOMODCACHE, "GOPROXY": "off", "GOTOOLCHAIN": "local", "GOTELEMETRY": "off",
                    "GOFLAGS": "-mod=readonly", "GOPATH": "/tmp/gopath", "GOCACHE": "/tmp/gocache"})
    return Mounts(path_dirs=tuple(path_dirs), image=image), env


def _default_client(timeout: float) -> Any:
    import docker

    return docker.from_env(timeout=timeout)


class TestImages:
    """Builds test images through a Docker daemon and finds the ones already built."""

    __test__ = False

    def __init__(
        self, base: str, lock_dir: str | Path, *, timeout_s: float = 900.0,
        client_factory: Callable[[float], Any] = _default_client, environ: Mapping[str, str] | None = None,
    ) -> None:
        """`base`: the base image's name (e.g. wave-base:bookworm); `lock_dir`: where the build locks
        live; `environ`: where the installers' settings are read (default: QA's environment)."""
        self.base = base
        self._lock_dir = Path(lock_dir)
        self._timeout_s = timeout_s
        self._client_factory = client_factory
        environ = os.environ if environ is None else environ
        self._build_args = {k: environ[k] for k in INSTALLER_SETTINGS if environ.get(k) and k not in CA_SETTINGS}
        self._ca_bundle = _read_ca_bundle(environ)

    def recipe(self, plan: SetupPlan | None, checkout: Path) -> ImageRecipe:
        client = self._client_factory(30)
        try:
            base_id = client.images.get(self.base).id
        except Exception as exc:
            raise ImageBuildError(f"the base image {self.base} is not on the Docker daemon "
                                  f"(deploy/base-image.sh builds it): {exc}") from exc
        inputs = {}
        for name in plan.inputs if plan is not None else ():
            try:
                inputs[name] = (checkout / name).read_bytes()
            except OSError:
                continue
        return ImageRecipe(base_id, plan, inputs, tuple(sorted(self._build_args)), self._ca_bundle)

    def ensure(self, plan: SetupPlan | None, checkout: Path) -> tuple[str, bool]:
        """The tag of the test image for `plan`, and whether it was already built."""
        recipe = self.recipe(plan, checkout)
        tag = recipe.tag()
        self._lock_dir.mkdir(parents=True, exist_ok=True)
        with open(self._lock_dir / f"image-{recipe.key()}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one build per recipe; the other runs wait and reuse it
            client = self._client_factory(self._timeout_s)
            if _exists(client, tag):
                return tag, True
            log.info("qa: building the test image %s from %s", tag, self.base)
            try:
                client.images.build(
                    fileobj=io.BytesIO(recipe.context()), custom_context=True, tag=tag, network_mode="host",
                    rm=True, forcerm=True, pull=False, timeout=self._timeout_s, buildargs=self._build_args,
                )
            except Exception as exc:
                raise ImageBuildError(f"building {tag} failed: {_build_output(exc)}") from exc
        return tag, False


def _read_ca_bundle(environ: Mapping[str, str]) -> bytes | None:
    for name in CA_SETTINGS:
        if path := environ.get(name):
            try:
                return Path(path).read_bytes()
            except OSError:
                continue
    return None


def _exists(client: Any, tag: str) -> bool:
    try:
        client.images.get(tag)
    except Exception:
        return False
    return True


def _build_output(exc: BaseException) -> str:
    log_lines = getattr(exc, "build_log", None) or []
    text = "".join(str(entry.get("stream") or entry.get("error") or "") for entry in log_lines if isinstance(entry, dict))
    return (text.strip() or str(exc))[-_OUTPUT_TAIL:]

