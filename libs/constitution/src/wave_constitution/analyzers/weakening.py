"""Changes that weaken the checks a repository runs on itself: tests deleted, skipped or deselected, the
test command replaced, code that runs at install time, a constant-time comparison taken out.

Each is judged over the whole diff, removed lines against added ones, so moving a test, a skip marker
or a `compare_digest` call from one place to another is not a weakening, and renaming a test file to
another test file is not a deletion. These escalate: a person may well approve them.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from fnmatch import fnmatch

import wave_diffs

from ..policy import SafetyPolicy
from ..rules import Finding
from .paths import is_ci_file

TEST_PATH_PATTERNS = (
    "test_*.py",
    "*_test.py",
    "tests.py",
    "conftest.py",
    "*_test.go",
    "*.test.js",
    "*.test.ts",
    "*.test.jsx",
    "*.test.tsx",
    "*.test.mjs",
    "*.spec.js",
    "*.spec.ts",
    "*.spec.jsx",
    "*.spec.tsx",
    "*_spec.rb",
    "*_test.rb",
    "test_*.rb",
    "*Test.java",
    "*Tests.java",
    "*Test.kt",
    "*Tests.cs",
    "*Test.php",
    "*_test.exs",
    "test_*.sh",
    "*.bats",
)
_TEST_DIRS = frozenset({"tests", "test", "__tests__", "spec", "specs", "testing", "t"})
_CODE_SUFFIXES = (
    ".py",
    ".js",
    ".ts",
    ".jsx",
    ".tsx",
    ".mjs",
    ".cjs",
    ".go",
    ".rb",
    ".java",
    ".kt",
    ".cs",
    ".php",
    ".rs",
    ".exs",
    ".ex",
    ".bats",
    ".sh",
    ".swift",
    ".scala",
)

# Test definitions, by language: the captured name identifies the test across removed and added lines.
_TEST_DEFINITION = re.compile(
    r"^\s*(?:async\s+)?def\s+(test\w*)\s*\("  # pytest / unittest
    r"|^\s*func\s+(Test\w+|Benchmark\w+|Fuzz\w+)\s*\(\s*\w+\s+\*testing\."  # go
    r"|^\s*x?(?:it|test|specify)(?:\.(?:skip|only|todo|concurrent))?\s*\(\s*(['\"`][^'\"`]+['\"`])"  # jest, mocha, vitest
    r"|^\s*it\s+(['\"][^'\"]+['\"])\s+do"  # rspec
    r"|^\s*#\[test\]\s*$()"  # rust attribute (the fn follows)
    r"|^\s*(?:public\s+)?void\s+(test\w*)\s*\("  # junit 3
    r"|^\s*@Test\b()"  # junit 4/5
)
_SKIP_MARKERS = re.compile(
    r"\bpytest\.mark\.(?:skip|skipif|xfail)\b|\bpytest\.skip\s*\(|\bpytest\.importorskip\s*\("
    r"|@unittest\.(?:skip|skipIf|skipUnless|expectedFailure)\b|\bself\.skipTest\s*\(|raise\s+(?:unittest\.)?SkipTest\b"
    r"|\b(?:it|test|describe|context|suite)\.(?:skip|todo|only)\s*\(|\bx(?:it|describe|test|context|specify)\s*\("
    r"|\bf(?:it|describe)\s*\(|\bt\.Skip(?:Now|f)?\s*\(|\bskip\s*\(\s*['\"]|^\s*pending\b|^\s*skip\b"
    r"|@(?:Ignore|Disabled)\b|#\[ignore\]|\[Ignore\]|\[Fact\s*\(\s*Skip\s*="
    r"|\bmarkTestSkipped\s*\(|@skip\b|\bSkip\(\s*['\"]"
)
# Markers that mean "skip this test" in any source file (Rust and Java tests live beside the code).
_SKIP_IN_SOURCE = re.compile(
    r"\bpytest\.mark\.(?:skip|skipif|xfail)\b|@unittest\.skip|#\[ignore\]|@(?:Ignore|Disabled)\b|\bt\.Skip(?:Now|f)?\s*\("
)
# Files whose every line is test configuration.
_PURE_TEST_CONFIG = frozenset(
    {
        "pytest.ini",
        "conftest.py",
        "jest.config.js",
        "jest.config.ts",
        "jest.config.cjs",
        "jest.config.mjs",
        "vitest.config.ts",
        "vitest.config.js",
        ".mocharc.json",
        ".mocharc.yml",
        ".mocharc.js",
        "karma.conf.js",
        "phpunit.xml",
        "phpunit.xml.dist",
        ".rspec",
        ".coveragerc",
    }
)
# Configuration that decides which tests run, or how: those, and files that hold it among other things.
TEST_CONFIG_NAMES = _PURE_TEST_CONFIG | {
    "tox.ini",
    "setup.cfg",
    "pyproject.toml",
    "noxfile.py",
    "package.json",
    "Makefile",
    "makefile",
    "GNUmakefile",
    "justfile",
    "Taskfile.yml",
    "qa.toml",
}
_ASSERTION = re.compile(
    r"^\s*(?:assert\b|self\.assert\w*\s*\(|self\.fail\w*\s*\(|expect\s*\(|assert\.\w+\s*\(|assert_\w+!?\s*\(|"
    r"t\.(?:Error|Errorf|Fatal|Fatalf|Fail|FailNow)\s*\(|require\.\w+\s*\(|(?:Assert|Assertions)\.\w+\s*\(|"
    r"assert(?:Equals|True|False|That|Null|NotNull|Throws)\s*\(|should\b|\w+\.should\b|with\s+pytest\.raises\b)"
)
_VACUOUS_ASSERTION = re.compile(
    r"^\s*(?:assert\s+(?:True|1|not\s+False)\s*(?:,.*)?$|self\.assertTrue\(\s*True\s*\)|expect\(\s*true\s*\)\.toBe\(\s*true\s*\)"
    r"|assert\.ok\(\s*true\s*\)|assertTrue\(\s*true\s*\))"
)
_DESELECTION = re.compile(
    r"""(?:^|[\s'"=\[,])(?:-k\s*['"]?\s*not\b|-k\s*['"][^'"]*\bnot\b|--deselect\b|--ignore(?:-glob)?\b|-p\s*no:|--co\b|--collect-only\b|--lf\b|--last-failed\b|--exitfirst\b|--maxfail)"""
    r"""|\bcollect_ignore(?:_glob)?\b|\btestPathIgnorePatterns\b|\bmodulePathIgnorePatterns\b|\bcoveragePathIgnorePatterns\b|\bexclude\s*[:=]|\bnorecursedirs\b|--exclude\b|\bpassWithNoTests\b|--passWithNoTests|\|\|\s*true\b|\|\|\s*exit\s+0\b|;\s*exit\s+0\b|--no-tests=pass|-run\s+['"]?\^?\$|\bpytest_collection_modifyitems\b|--testPathIgnorePatterns|--onlyChanged|-o\s*['"]?addopts"""
)
_RUNNER = re.compile(
    r"\b(?:pytest|py\.test|jest|vitest|mocha|karma|go\s+test|cargo\s+test|npm\s+(?:run\s+)?test|yarn\s+test|pnpm\s+test"
    r"|tox|nox|unittest|rspec|phpunit|make\s+test|ctest|bats|gradle\w*\s+test|mvn\s+test|dotnet\s+test|mix\s+test)\b"
)
# The keys that name the test command or collection.
_COLLECTION_KEY = re.compile(
    r"^\s*(?:addopts|testpaths|python_files|python_functions|python_classes|commands)\s*="
)
_NPM_TEST_SCRIPT = re.compile(r'^\s*"(?:pre|post)?test(?::[\w-]+)?"\s*:')
_TRIVIAL_COMMAND = re.compile(
    r"""[:=]\s*["']?\s*(?:true|exit\s+0|:|echo\b[^"']*|/bin/true|""|'')\s*["']?\s*,?\s*$"""
)
_INSTALL_SCRIPTS = re.compile(
    r'^\s*"(preinstall|install|postinstall|prepare|prepublish|preprepare|postprepare|prepack|postpack)"\s*:\s*"(.*)"\s*,?\s*$'
)
_NPM_SCRIPT = re.compile(r'^\s*"((?:pre|post)?test(?::[\w-]+)?)"\s*:\s*"(.*)"\s*,?\s*$')
_SETUP_EXEC = re.compile(
    r"\bcmdclass\b|\bos\.system\s*\(|\bsubprocess\.|\bexec\s*\(|\beval\s*\(|\burllib\b|\brequests\.|__import__\s*\(|\bos\.popen\s*\("
)
_BUILD_SCRIPT_EXEC = re.compile(r"Command::new|std::process|\bcurl\b|\bwget\b|reqwest|ureq")
_CONSTANT_TIME = re.compile(
    r"\b(?:hmac\.compare_digest|secrets\.compare_digest|compare_digest|timingSafeEqual|ConstantTimeCompare|ConstantTimeEq"
    r"|MessageDigest\.isEqual|hash_equals|secure_compare|fixed_length_secure_compare|constant_time_compare|constant_time_eq"
    r"|CryptographicOperations\.FixedTimeEquals|subtle\.ConstantTimeCompare|ct_eq|safe_str_cmp|constantTimeEquals)\b"
)


def is_test_path(path: str) -> bool:
    name = posixpath.basename(path)
    if any(fnmatch(name, p) for p in TEST_PATH_PATTERNS):
        return True
    parts = path.split("/")[:-1]
    return bool(_TEST_DIRS & set(parts)) and name.endswith(_CODE_SUFFIXES)


def is_collected_test(path: str) -> bool:
    """A file test runners collect by its name (`test_*.py`, `*.spec.ts`, anything under `__tests__/`)."""
    name = posixpath.basename(path)
    return any(fnmatch(name, p) for p in TEST_PATH_PATTERNS) or "__tests__" in path.split("/")[:-1]


def is_test_config(path: str) -> bool:
    name = posixpath.basename(path)
    return name in TEST_CONFIG_NAMES or path.startswith(".wave/") or is_ci_file(path)


def weakening_findings(files: tuple[wave_diffs.FileChange, ...], policy: SafetyPolicy) -> list[Finding]:
    findings: list[Finding] = []
    # A file deleted and added again with the same text is a rename written without rename detection.
    added_texts = {patch.added_text for patch in files if patch.old_path is None and patch.added_text}
    removed_tests: Counter[str] = Counter()
    added_tests: Counter[str] = Counter()
    removed_markers: Counter[str] = Counter()
    added_markers: dict[str, list[str]] = {}
    removed_compare: Counter[str] = Counter()
    assertions_lost: list[str] = []
    vacuous: list[str] = []
    added_compare: Counter[str] = Counter()
    for patch in files:
        old, new = patch.old_path, patch.new_path
        removed = [line for hunk in patch.hunks for line in hunk.removed]
        added = [line for hunk in patch.hunks for line in hunk.added]
        if (
            old
            and is_test_path(old)
            and (new is None or (is_collected_test(old) and not is_collected_test(new)))
        ):
            if new is None:
                if "\n".join(removed) not in added_texts:
                    findings.append(Finding("diff.test_deleted", f"deletes the test file {old}"))
            else:
                findings.append(
                    Finding(
                        "diff.test_deleted",
                        f"renames the test file {old} to {new}, which is not collected as a test",
                    )
                )
        test_file = any(p and is_test_path(p) for p in (old, new))
        if test_file and new is not None:
            for line in removed:
                removed_tests.update(_test_names(line, old or ""))
            for line in added:
                added_tests.update(_test_names(line, new))
        elif test_file and new is None:
            pass  # the file's deletion is already named
        source = (new or old or "").endswith(_CODE_SUFFIXES)
        if test_file or posixpath.basename(new or old or "") == "conftest.py" or source:
            markers = _SKIP_MARKERS if test_file or not source else _SKIP_IN_SOURCE
            for line in removed:
                removed_markers.update(m.group(0) for m in markers.finditer(line))
            for line in added:
                for match in markers.finditer(line):
                    added_markers.setdefault(match.group(0), []).append(new or "?")
        path = new or old or ""
        if is_test_config(path) and new is not None:
            findings.extend(_test_config(path, removed, added, patch.status))
        if new is not None and posixpath.basename(new) == "package.json":
            findings.extend(_npm_install_scripts(new, added, policy))
        if new is not None and posixpath.basename(new) in ("setup.py",):
            hits = sorted({m.group(0).strip("(. ") for line in added for m in _SETUP_EXEC.finditer(line)})
            if hits:
                findings.append(
                    Finding(
                        "diff.install_hook",
                        f"{new} gains {', '.join(hits[:3])}, which runs when the package is installed",
                    )
                )
                findings.extend(_install_commands(new, "\n".join(added), policy))
        if (
            new is not None
            and posixpath.basename(new) == "build.rs"
            and any(_BUILD_SCRIPT_EXEC.search(line) for line in added)
        ):
            findings.append(Finding("diff.install_hook", f"{new} runs programs or downloads at build time"))
        if (
            new is not None
            and new.endswith(".pth")
            and any(line.lstrip().startswith("import ") for line in added)
        ):
            findings.append(Finding("diff.install_hook", f"{new} runs code every time Python starts"))
        if test_file and new is not None:
            kept = sum(bool(_ASSERTION.match(line)) and not _VACUOUS_ASSERTION.match(line) for line in added)
            if sum(bool(_ASSERTION.match(line)) for line in removed) > kept:
                assertions_lost.append(new)
            vacuous.extend(new for line in added if _VACUOUS_ASSERTION.match(line))
        for line in removed:
            removed_compare.update(m.group(0) for m in _CONSTANT_TIME.finditer(line))
        for line in added:
            added_compare.update(m.group(0) for m in _CONSTANT_TIME.finditer(line))
    gone = [name for name, count in removed_tests.items() if count > added_tests.get(name, 0) and name]
    new_tests = [name for name, count in added_tests.items() if count > removed_tests.get(name, 0)]
    if len(gone) > len(new_tests):  # as many new tests as lost ones: renamed, not deleted
        more = f" (and {len(gone) - 1} more)" if len(gone) > 1 else ""
        findings.append(Finding("diff.test_deleted", f"removes the test {gone[0]}{more}"))
    for marker, paths in added_markers.items():
        if len(paths) > removed_markers.get(marker, 0):
            findings.append(Finding("diff.test_skipped", f"{paths[0]} gains {marker.strip()}"))
    if vacuous:
        findings.append(
            Finding("diff.assertions_removed", f"{vacuous[0]} gains an assertion that always passes")
        )
    elif assertions_lost:
        findings.append(Finding("diff.assertions_removed", f"{assertions_lost[0]} loses assertions"))
    lost = sum(removed_compare.values()) - sum(added_compare.values())
    if lost > 0:
        name = next(iter(removed_compare))
        findings.append(
            Finding(
                "diff.timing_unsafe_compare",
                f"removes {name}: a secret compared with == leaks its value through timing",
            )
        )
    return findings


def _test_names(line: str, path: str) -> list[str]:
    match = _TEST_DEFINITION.search(line)
    if match is None:
        return []
    name = next((g for g in match.groups() if g), None)
    if name is None:  # #[test] or @Test: the function follows on another line, so count the marker
        return [line.strip()]
    return [name.strip("'\"`")]


def _test_config(path: str, removed: list[str], added: list[str], status: str) -> list[Finding]:
    """Lines added to test configuration that deselect tests or replace the test command. A line that is
    also removed (moved, re-indented) is not a change."""
    findings: list[Finding] = []
    name = posixpath.basename(path)
    qa_config = path.startswith(".wave/")
    removed_set = Counter(line.strip() for line in removed)
    for line in added:
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "//", ";")) or removed_set.get(stripped, 0) > 0:
            continue
        about_tests = (
            name in _PURE_TEST_CONFIG
            or name in ("pytest.ini", "tox.ini", "setup.cfg", "pyproject.toml")
            and _COLLECTION_KEY.search(stripped)
            or _RUNNER.search(stripped)
        )
        if _DESELECTION.search(stripped) and (about_tests or qa_config):
            findings.append(
                Finding("diff.test_selection", f"{path} changes which tests run: {_excerpt(stripped)}")
            )
            continue
        if qa_config:
            findings.append(
                Finding("diff.test_selection", f"{path} changes the QA configuration: {_excerpt(stripped)}")
            )
            continue
        collection = name in (
            "pytest.ini",
            "tox.ini",
            "setup.cfg",
            "pyproject.toml",
        ) and _COLLECTION_KEY.search(stripped)
        command = (name == "package.json" and _NPM_TEST_SCRIPT.search(stripped)) or (
            collection and stripped.startswith("commands")
        )
        if command:
            if _TRIVIAL_COMMAND.search(stripped):
                findings.append(
                    Finding(
                        "diff.test_selection",
                        f"{path} sets a test command that tests nothing: {_excerpt(stripped)}",
                    )
                )
            elif status != "added" and not _keeps_runner(stripped, removed):
                findings.append(
                    Finding("diff.test_selection", f"{path} replaces the test command: {_excerpt(stripped)}")
                )
        elif collection and status != "added" and not stripped.startswith("addopts"):
            findings.append(
                Finding(
                    "diff.test_selection", f"{path} changes which tests are collected: {_excerpt(stripped)}"
                )
            )
    ran = {m.group(0).split()[0] for line in removed for m in _RUNNER.finditer(line)}
    runs = {m.group(0).split()[0] for line in added for m in _RUNNER.finditer(line)}
    if ran - runs and not qa_config and not findings:
        findings.append(Finding("diff.test_selection", f"{path} no longer runs {sorted(ran - runs)[0]}"))
    if qa_config and removed and not findings:
        findings.append(Finding("diff.test_selection", f"{path} changes the QA configuration"))
    return findings


def _keeps_runner(line: str, removed: list[str]) -> bool:
    """The new command still runs every test runner the removed lines ran (`jest` -> `jest --coverage`)."""
    before = {m.group(0).split()[0] for old in removed for m in _RUNNER.finditer(old)}
    after = {m.group(0).split()[0] for m in _RUNNER.finditer(line)}
    return bool(after) and before <= after


def _npm_install_scripts(path: str, added: list[str], policy: SafetyPolicy) -> list[Finding]:
    from .shell import analyze_shell

    findings: list[Finding] = []
    for line in added:
        match = _INSTALL_SCRIPTS.match(line) or _NPM_SCRIPT.match(line)
        if match is None:
            continue
        if _INSTALL_SCRIPTS.match(line):
            findings.append(
                Finding(
                    "diff.install_hook",
                    f"{path} gains an npm {match.group(1)} script, which runs on npm install",
                )
            )
        command = match.group(2).encode().decode("unicode_escape", errors="ignore")
        for finding in analyze_shell(command, policy).findings:
            if finding.rule not in ("shell.unparseable", "shell.dynamic_command", "shell.too_deep"):
                findings.append(Finding(finding.rule, f"in {path} {match.group(1)}: {finding.detail}"))
    return findings


def _install_commands(path: str, code: str, policy: SafetyPolicy) -> list[Finding]:
    """The shell commands install-time Python code runs, scored as shell."""
    from .shell import analyze_shell
    from .shell.inline_code import shell_strings

    findings: list[Finding] = []
    for command in shell_strings(code):
        for finding in analyze_shell(command, policy).findings:
            if finding.rule not in ("shell.unparseable", "shell.dynamic_command", "shell.too_deep"):
                findings.append(Finding(finding.rule, f"in {path}: {finding.detail}"))
    return findings


def _excerpt(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
