"""A problem of this process's setup a person can fix (the environment, a file, a service that cannot
start): like every refusal of the application layer, one line on stderr and exit status 1. And how the
command line words a refusal of the application layer: its inputs as options, its remedies as
commands."""

from wave_app.errors import AppError, Remedy, phrase


class UserError(AppError):
    pass


OPTIONS = {
    "repo": "--repo", "target_branch": "--target-branch", "budget_usd": "--budget-usd", "usd": "--usd",
    "tokens": "--tokens", "escalation_id": "--escalation", "at": "--at",
}


def remedy_text(remedy: Remedy) -> str:
    run = remedy.run_id
    return {
        "force": "--force changes its budget anyway",
        "name_escalation": f"name one with --escalation ({', '.join(remedy.choices)})",
        "raise_budget": f"raise it with `wave budget {run} --usd NEW_LIMIT`, or reject it to stop the run",
        "name_target_branch": "name one with --target-branch",
        "list_escalations": f"`wave status {run}` lists them",
        "list_runs": "`wave runs` lists the runs",
        "raw_events": f"`wave events {run} --raw` shows what is stored",
    }[remedy.kind]


def cli_line(error: AppError) -> str:
    """A refusal as the command line says it."""
    return phrase(error, OPTIONS, remedy_text)
