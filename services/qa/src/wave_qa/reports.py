"""Reading what a test run said: counts and the failing tests, from a JUnit XML report when there is
one, else from the pytest or go summary, else from the exit code and the tail of the output. Pure."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Collection
from dataclasses import dataclass

from wave_events.catalogue import TestCounts

EXCERPT_CHARS = 4000
_PER_FAILURE_CHARS = 1200
_TAIL_CHARS = 1500
_MAX_LISTED = 40


@dataclass(frozen=True)
class Failure:
    name: str
    message: str = ""
    detail: str = ""


@dataclass(frozen=True)
class TestReport:
    __test__ = False

    counts: TestCounts
    failures: tuple[Failure, ...] = ()
    source: str = "exit code"  # junit, pytest summary, go output, exit code


class ReportError(ValueError):
    """A report that is not JUnit XML."""


def parse_junit(xml_text: str, known_files: Collection[str] = ()) -> TestReport:
    """JUnit XML: pytest's, or any <testsuites>/<testsuite> document. `known_files` (the repository's
    paths) turn a dotted classname into a test id such as `tests/test_calc.py::TestMul::test_big`."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise ReportError(f"not XML: {exc}") from exc
    if root.tag not in ("testsuites", "testsuite"):
        raise ReportError(f"not a JUnit report: root element <{root.tag}>")
    cases = list(root.iter("testcase"))
    if not cases:
        suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite")) or [root]
        total = {k: sum(_int(s.get(k)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
        passed = max(0, total["tests"] - total["failures"] - total["errors"] - total["skipped"])
        counts = TestCounts(passed=passed, failed=total["failures"], errors=total["errors"], skipped=total["skipped"])
        return TestReport(counts, (), "junit")
    passed = failed = errors = skipped = 0
    failures: list[Failure] = []
    for case in cases:
        name = _case_name(case, known_files)
        failure, error = case.find("failure"), case.find("error")
        if failure is not None:
            failed += 1
            failures.append(Failure(name, failure.get("message") or "", (failure.text or "").strip()))
        elif error is not None:
            errors += 1
            failures.append(Failure(name, error.get("message") or "error", (error.text or "").strip()))
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    counts = TestCounts(passed=passed, failed=failed, errors=errors, skipped=skipped)
    return TestReport(counts, tuple(failures), "junit")


def _case_name(case: ET.Element, known_files: Collection[str]) -> str:
    classname, name = case.get("classname") or "", case.get("name") or "?"
    file = case.get("file")
    parts = classname.split(".") if classname else []
    if not file:
        # pytest: classname "tests.test_prices.TestTax" and the file tests/test_prices.py -> its path
        for cut in range(len(parts), 0, -1):
            candidate = "/".join(parts[:cut]) + ".py"
            if candidate in known_files:
                file, parts = candidate, parts[cut:]
                break
        else:
            return f"{classname}::{name}" if classname else name
    else:
        module = file.removesuffix(".py").replace("/", ".")
        parts = classname.removeprefix(module).lstrip(".").split(".") if classname.startswith(module) else parts
    return "::".join([file, *(p for p in parts if p), name])


def _int(value: str | None) -> int:
    try:
        return max(0, int(float(value or 0)))
    except ValueError:
        return 0


_PYTEST_SUMMARY = re.compile(
    r"^=*\s*((?:\d+ (?:passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?|rerun)(?:, )?)+)"
    r"(?:\s+in [\d.]+s.*)?\s*=*\s*$",
    re.MULTILINE,
)
_PYTEST_FAILED_LINE = re.compile(r"^(FAILED|ERROR) (\S+)(?: - (.*))?$", re.MULTILINE)
_TAP_TOTALS = re.compile(r"^# (pass|fail|skipped|todo) (\d+)\s*$", re.MULTILINE)
_TAP_NOT_OK = re.compile(r"^not ok \d+ - (.+?)(?:\s+#.*)?$", re.MULTILINE)
_GO_RESULT = re.compile(r"^\s*--- (PASS|FAIL|SKIP): (\S+)", re.MULTILINE)


def parse_go_json(exit_code: int, output: str) -> TestReport | None:
    """`go test -json` events: each test's last pass/fail/skip, its output for a failure. A package
    that failed with no failing test (it did not build) counts as an error. None when there are none."""
    outcomes: dict[tuple[str, str], str] = {}
    outputs: dict[tuple[str, str], list[str]] = {}
    package_failed: list[str] = []
    for line in output.splitlines():
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict) or "Action" not in event:
            continue
        action, package, test = event.get("Action"), str(event.get("Package") or ""), event.get("Test")
        key = (package, str(test or ""))
        if action in ("output", "build-output"):
            outputs.setdefault(key if test else (str(event.get("ImportPath") or package), ""), []).append(
                str(event.get("Output") or ""))
        elif action in ("pass", "fail", "skip") and test:
            outcomes[key] = action
        elif action == "fail" and not test:
            package_failed.append(package)
    if not outcomes and not package_failed:
        return None
    top_level = {key: action for key, action in outcomes.items() if "/" not in key[1]}
    failures = [
        Failure(f"{package}::{test}", "", "".join(outputs.get((package, test), [])).strip())
        for (package, test), action in top_level.items() if action == "fail"
    ]
    failing_packages = {f.name.split("::")[0] for f in failures}
    broken = [p for p in dict.fromkeys(package_failed) if p not in failing_packages]
    for package in broken:
        detail = "".join(outputs.get((package, ""), []) + outputs.get((package + " [" + package + ".test]", ""), []))
        failures.append(Failure(package, "build failed" if "[build failed]" in detail else "failed", detail.strip()))
    actions = list(top_level.values())
    counts = TestCounts(passed=actions.count("pass"), failed=actions.count("fail"), errors=len(broken),
                        skipped=actions.count("skip"))
    return TestReport(counts, tuple(failures), "go test -json")


def parse_output(exit_code: int, output: str) -> TestReport:
    """No report file: go's JSON events, the pytest summary line, go's test lines, or just the exit code."""
    go_json = parse_go_json(exit_code, output) if '"Action"' in output else None
    if go_json is not None:
        return go_json
    tap = _TAP_TOTALS.findall(output)
    if tap:  # node --test (TAP): "# pass 3", "# fail 1", ...; failing tests as "not ok N - name"
        totals = {word: int(n) for word, n in tap}
        failures = tuple(Failure(name.strip()) for name in _TAP_NOT_OK.findall(output))
        counts = TestCounts(passed=totals.get("pass", 0), failed=totals.get("fail", 0),
                            skipped=totals.get("skipped", 0) + totals.get("todo", 0))
        return TestReport(counts, failures, "tap")
    summaries = _PYTEST_SUMMARY.findall(output)
    if summaries:
        numbers = {word.rstrip("s"): int(n) for n, word in re.findall(r"(\d+) (\w+)", summaries[-1])}
        counts = TestCounts(
            passed=numbers.get("passed", 0) + numbers.get("xpassed", 0),
            failed=numbers.get("failed", 0),
            errors=numbers.get("error", 0),
            skipped=numbers.get("skipped", 0) + numbers.get("xfailed", 0),
        )
        failures = tuple(Failure(name, message or "") for _, name, message in _PYTEST_FAILED_LINE.findall(output))
        return TestReport(counts, failures, "pytest summary")
    go = _GO_RESULT.findall(output)
    if go or re.search(r"^(ok|FAIL)\s+\S+", output, re.MULTILINE):
        statuses = [s for s, _ in go]
        failures = tuple(Failure(name) for status, name in go if status == "FAIL")
        failed = len(failures) or (1 if exit_code != 0 else 0)
        counts = TestCounts(passed=statuses.count("PASS"), failed=failed, skipped=statuses.count("SKIP"))
        return TestReport(counts, failures, "go output")
    counts = TestCounts(passed=0, failed=0, errors=0 if exit_code == 0 else 1)
    return TestReport(counts, (), "exit code")


def read_report(junit_text: str | None, *, exit_code: int, output: str, known_files: Collection[str] = ()) -> TestReport:
    """The best account of a run: the JUnit report the tests wrote (`junit_text`), unless there is none,
    it is not JUnit, or it counts no test although the run failed; then what the output says."""
    if junit_text is not None:
        try:
            report = parse_junit(junit_text, known_files)
        except ReportError:
            pass
        else:
            if sum(report.counts.model_dump().values()) or exit_code == 0:
                return report
    return parse_output(exit_code, output)


def failing_test_names(report: TestReport) -> tuple[str, ...]:
    """The failing tests' ids, each once, at most as many as the excerpt lists."""
    return tuple(dict.fromkeys(failure.name for failure in report.failures))[:_MAX_LISTED]


def failure_excerpt(report: TestReport, *, exit_code: int, output: str, timed_out: bool, timeout_s: float,
                    limit: int = EXCERPT_CHARS) -> str:
    """What a fixer needs first: why the run failed, every failing test with its message, then as much of
    each one's assertion output as fits, then the end of the run's output. At most `limit` characters."""
    lines: list[str] = []
    if timed_out:
        lines.append(f"timed out after {timeout_s:g}s: the test run was killed")
    elif exit_code < 0:
        lines.append(f"the test run was killed by signal {-exit_code}")
    counts = report.counts
    lines.append(
        f"{counts.failed} failed, {counts.errors} errors, {counts.passed} passed, {counts.skipped} skipped "
        f"(from {report.source}; exit code {exit_code})"
    )
    shown = report.failures[:_MAX_LISTED]
    for failure in shown:
        lines.append(f"FAILED {failure.name}" + (f" - {_one_line(failure.message)}" if failure.message else ""))
    if len(report.failures) > len(shown):
        lines.append(f"... and {len(report.failures) - len(shown)} more")
    text = "\n".join(lines)
    details = [f for f in shown if f.detail]
    if details:
        room = limit - len(text) - (_TAIL_CHARS // 3)
        each = max(200, min(_PER_FAILURE_CHARS, room // len(details) - 40))
        for failure in details:
            block = f"\n\n--- {failure.name} ---\n{_tail(failure.detail, each)}"
            if len(text) + len(block) > limit:
                break
            text += block
    room = limit - len(text) - 30
    if room > 200 and (not report.failures or not details):
        tail = _tail(output.strip(), min(_TAIL_CHARS, room))
        if tail:
            text += "\n\n--- output (end) ---\n" + tail
    return text if len(text) <= limit else text[: limit - 20] + "\n… (truncated)"


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 300 else line[:297] + "..."


def _tail(text: str, chars: int) -> str:
    if chars <= 0:
        return ""
    return text if len(text) <= chars else "…" + text[-(chars - 1):]
