"""QA's effects happen once and stay inside the checkout: a decision re-made after a conflict does not
run the tests again, and the repository's own `.wave-qa` entry cannot reach the host."""

from __future__ import annotations

from pathlib import Path

from qa_fakes import JUNIT_TWO_PASSED, FakeCheckout, FakeSandbox, result, service
from qa_runs import committed_run
from run_streams import sha
from wave_events import catalogue as c


async def test_a_decision_made_again_after_a_conflict_does_not_run_the_tests_again(tmp_path: Path) -> None:
    # The notifier's NotificationSent for the same ChangeCommitted lands while the tests run: the runtime's
    # append conflicts and it asks QA again, on the state with the notification folded.
    sandbox, checkout = FakeSandbox(result(stdout="2 passed in 0.1s"), junit=JUNIT_TWO_PASSED), FakeCheckout()
    stream, (committed,) = committed_run("/srv/shop", sha(1), {"t1": sha(2)})
    qa = service(sandbox, checkout, tmp_path)
    first = await qa.handle(committed.state, committed.event)
    later = stream.add(
        c.NotificationSent(channel="#wave", idempotency_key="k", source_event_id=committed.event.event_id)
    )
    again = await qa.handle(later.state, committed.event)
    assert again == first and len(sandbox.runs) == 1 and len(checkout.calls) == 1


async def test_another_commit_is_tested_anew(tmp_path: Path) -> None:
    sandbox = FakeSandbox(result(stdout="2 passed in 0.1s"), junit=JUNIT_TWO_PASSED)
    qa = service(sandbox, FakeCheckout(), tmp_path)
    for n in (2, 3):
        _, (committed,) = committed_run("/srv/shop", sha(1), {"t1": sha(n)})
        (*_, outcome) = await qa.handle(committed.state, committed.event)
        assert outcome.commit == sha(n)
    assert len(sandbox.runs) == 2


class LinkedReports(FakeCheckout):
    """A repository whose `.wave-qa` is a symbolic link to a directory of the host."""

    def __init__(self, host_dir: Path) -> None:
        super().__init__()
        self.host_dir = host_dir

    def __call__(self, location: str, commit: str, dest: Path) -> None:
        super().__call__(location, commit, dest)
        (dest / ".wave-qa").symlink_to(self.host_dir, target_is_directory=True)


async def test_the_repositorys_own_wave_qa_link_does_not_reach_the_host(tmp_path: Path) -> None:
    host_dir = tmp_path / "host"
    host_dir.mkdir()
    (host_dir / "junit.xml").write_text("the host's own file")
    sandbox = FakeSandbox(result(stdout="2 passed in 0.1s"))  # no report: writing through the link is the escape tested
    qa = service(sandbox, LinkedReports(host_dir), tmp_path / "scratch")
    _, (committed,) = committed_run("/srv/shop", sha(1), {"t1": sha(2)})
    (*_, outcome) = await qa.handle(committed.state, committed.event)
    assert isinstance(outcome, c.TestsPassed)
    assert (host_dir / "junit.xml").read_text() == "the host's own file"


async def test_a_report_directory_that_is_a_file_in_the_repository_does_not_break_qa(tmp_path: Path) -> None:
    checkout = FakeCheckout({"pytest.ini": "", "tests/test_a.py": "", ".wave-qa": "a file of the repository"})
    sandbox = FakeSandbox(result(stdout="2 passed in 0.1s"), junit=JUNIT_TWO_PASSED)
    _, (committed,) = committed_run("/srv/shop", sha(1), {"t1": sha(2)})
    (*_, outcome) = await service(sandbox, checkout, tmp_path).handle(committed.state, committed.event)
    assert isinstance(outcome, c.TestsPassed)
