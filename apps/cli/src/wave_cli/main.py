"""`wave`: deliver a story through WAVE's gates and look at what happened.

Embedded by default (one process, the SQLite store under WAVE_HOME, default ~/.local/state/wave); distributed when
WAVE_DATABASE_URL (postgresql://…) and WAVE_KAFKA_BOOTSTRAP are set. The commands live in
`wave_cli.commands`, one module per group; this module holds the group and the error mapping.
"""

from __future__ import annotations

import os
import sys

import click
from rich.markup import escape
from wave_app.errors import AppError
from wave_store import StoreError

from .bootstrap import Composition
from .commands import decide, inspect, operate, run, serve
from .errors import cli_line
from .render import error_line, errors


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Deliver stories through WAVE's gates, follow runs, answer escalations, audit and replay.

    \b
    Embedded by default: one process, events in $XDG_STATE_HOME/wave/wave.db, i.e.
    ~/.local/state/wave/wave.db (WAVE_HOME moves it).
    Distributed when WAVE_DATABASE_URL=postgresql://… and WAVE_KAFKA_BOOTSTRAP=host:port are set.
    """
    ctx.obj = Composition.from_env()
    if ctx.invoked_subcommand not in ("service", "relay"):  # those name their process after their role
        ctx.obj.configure_tracing()


for command in (
    run.run_command, inspect.runs_command, inspect.status_command, inspect.events_command, inspect.replay_command,
    decide.approve_command, decide.budget_command, decide.cancel_command, run.resume_command, run.fork_command,
    operate.dlq_group, operate.config_command, operate.service_command, operate.relay_command,
    operate.safety_group, run.demo_command, serve.serve_command, serve.token_group, serve.projections_group,
):
    cli.add_command(command)


def _usage_problem(exc: click.UsageError) -> str:
    command = exc.ctx.command_path if exc.ctx is not None else "wave"
    message = " ".join(exc.format_message().split())
    return f"{message} (see `{command} --help`)"


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; a user's mistake is one line on stderr and a non-zero exit, never a traceback."""
    try:
        cli.main(args=argv, prog_name="wave", standalone_mode=False)
    except click.exceptions.Abort:
        errors.print("wave: aborted")
        sys.exit(130)
    except click.UsageError as exc:
        # One line, like every other mistake; `--help` shows the usage (exit status 2).
        error_line(_usage_problem(exc))
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        error_line(exc.format_message())
        sys.exit(exc.exit_code)
    except AppError as exc:  # a refusal of the application layer, or of this process's setup
        error_line(cli_line(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        errors.print("wave: interrupted")
        sys.exit(130)
    except (ValueError, OSError, StoreError) as exc:
        if os.environ.get("WAVE_DEBUG"):
            raise
        errors.print(f"wave: error: {escape(str(exc))} (WAVE_DEBUG=1 shows the traceback)")
        sys.exit(1)
    except Exception as exc:
        from wave_runtime.outages import is_outage

        if not is_outage(exc) or os.environ.get("WAVE_DEBUG"):
            raise
        errors.print(f"wave: error: the database or the broker went away ({type(exc).__name__}: {escape(str(exc))}); "
                     "try again once it is back (WAVE_DEBUG=1 shows the traceback)")
        sys.exit(1)
