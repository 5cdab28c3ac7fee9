"""Delivering a story: `wave run`, `wave resume`, `wave demo`."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

import click
from wave_app import commands, forking, queries
from wave_events.domains import DomainPolicyError, DomainTable, parse_table

from .. import render
from ..bootstrap import FACTORIES, Composition, local_user
from ..driving import follow, follow_on, follower_of
from ..errors import UserError
from ..follow import Outcome, follow_distributed


@click.command("run")
@click.argument("story")
@click.option("--repo", required=True, help="the git repository to change (a local path)")
@click.option("--target-branch", help="the branch the run merges into  [default: the repository's current branch]")
@click.option("--cassette", type=click.Path(dir_okay=False), help="play model answers from this cassette")
@click.option("--budget-usd", type=click.FloatRange(min=0), default=5.0, show_default=True)
@click.option("--budget-tokens", type=click.IntRange(min=0), default=2_000_000, show_default=True)
@click.option("--max-retries", type=click.IntRange(0, 20), default=3, show_default=True)
@click.option(
    "--merge-policy", type=click.Choice(["auto", "model", "human"]), default="auto", show_default=True,
    help="who approves the merge: policy (safe + tested), a model review, or a human",
)
@click.option(
    "--merge-strategy", type=click.Choice(["squash", "merge", "ff"]), default="squash", show_default=True,
    help="how the run lands on the target branch: one squashed commit, a merge commit, or a fast-forward "
         "(every attempt); the run branch keeps every attempt",
)
@click.option(
    "--delivery", type=click.Choice(["local", "pr"]), envvar="WAVE_DELIVERY", default=None,
    help="local: gitops merges in the repository; pr: through a pull request on the git host gitops is set up "
         "for (WAVE_GIT_HOST …). Default from WAVE_DELIVERY, else pr when a domain of the plan says "
         "delivery = \"pr\" (.wave/domains.toml), else local",
)
@click.option("--domain-policy", "domain_policy", type=click.Path(dir_okay=False),
              help="a domain table (TOML, as .wave/domains.toml) to use instead of the target branch's")
@click.option("--wait/--no-wait", default=None, help="follow the run until it stops (always, when embedded)")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=1800, show_default=True, help="seconds")
@click.option("--json", "as_json", is_flag=True,
              help="print one JSON object (run id, final status) on stdout; the live output goes to stderr")
@click.pass_obj
def run_command(parts: Composition, story: str, repo: str, target_branch: str | None, cassette: str | None,
                budget_usd: float, budget_tokens: int, max_retries: int, merge_policy: str, merge_strategy: str,
                delivery: str | None, domain_policy: str | None, wait: bool | None, timeout_s: float,
                as_json: bool) -> None:
    """Submit STORY (a coding task) against a repository and follow it through the gates.

    Exit status: 0 merged, 3 waiting for a decision (`wave approve`), 1 failed, blocked,
    rejected or cancelled.
    """
    commands.check_amount("--budget-usd", budget_usd)  # what was typed is checked before anything is looked up
    if story.startswith("@"):
        story = _read_story(story[1:])
    commands.check_story(story)
    domain_table = read_domain_policy(domain_policy) if domain_policy else None
    model_source = parts.use_cassette(cassette) if cassette else parts.models_in_use()

    services = parts.embedded_services(model_source)  # a service that cannot start refuses before the run is stored
    repo = commands.check_repo(repo)
    target_branch = commands.target_branch_of(repo, target_branch)
    if services is not None:
        parts.check_model_source(cassette, model_source)  # distributed, the services' own environment decides

    async def go() -> Outcome | str:
        async with parts.store() as store:
            run_id = await commands.submit_run(
                store, actor=local_user(), story=story, repo=repo, target_branch=target_branch,
                budget_usd=budget_usd, budget_tokens=budget_tokens, max_retries=max_retries,
                merge_policy=merge_policy, model_source=model_source, merge_strategy=merge_strategy,
                delivery=delivery, cassette=_cassette_document(cassette) if cassette else "",
                domain_table=domain_table,
            )
            render.submitted(run_id, parts.settings.mode)
            if parts.settings.distributed and not wait:
                return run_id
            return await follow(parts, store, run_id, timeout_s, services, model_source)

    if as_json:
        with render.live_output_on_stderr():
            outcome = asyncio.run(go())
            code = 0 if isinstance(outcome, str) else render.report(outcome)
        render.print_json(render.run_document(outcome))
        sys.exit(code)
    outcome = asyncio.run(go())
    if isinstance(outcome, str):
        render.console.print(f"follow it with: wave status {outcome}")
        return
    sys.exit(render.report(outcome))


def read_domain_policy(path: str) -> DomainTable:
    """The domain table in a TOML file; a file that cannot be used is one line naming the problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"--domain-policy {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UserError(f"--domain-policy {path}: not UTF-8 text") from None
    try:
        return parse_table(text, str(path))
    except DomainPolicyError as exc:
        raise UserError(f"--domain-policy {exc}") from None


def _cassette_document(path: str) -> str:
    """The cassette's content, for the run to carry: every service plays it, distributed too."""
    from wave_llm import cassette_document, load_cassette

    return cassette_document(load_cassette(path))  # use_cassette checked it already


def _read_story(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except OSError as exc:
        raise UserError(f"cannot read the story file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"the story file {path} is not UTF-8 text (byte {exc.start}: {exc.reason})") from None


@click.command("resume")
@click.argument("run_id")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=1800, show_default=True, help="seconds")
@click.pass_obj
def resume_command(parts: Composition, run_id: str, timeout_s: float) -> None:
    """Drive RUN_ID on from where it stopped (after Ctrl-C, a crash, a closed terminal), with the
    models it was submitted with, until it stops again.

    Exit status as for `wave run`: 0 merged, 3 waiting for a decision, 1 failed, blocked, rejected
    or cancelled. Distributed, the services elsewhere move it; this follows it.
    """

    from wave_runtime.tracing import command_span

    async def go() -> Outcome:
        async with parts.store() as store:
            events, state = await queries.load_run(store, run_id)
            if state.finished:
                raise UserError(f"run {run_id} is already {state.status}; there is nothing to resume")
            follower = follower_of(parts, store, run_id)
            await follower.catch_up(quiet=True)
            render.console.print(f"run [bold]{run_id}[/] resumed ({parts.settings.mode}): {state.status}")
            # The resume shows in the run's trace; what it drives is traced through the events themselves.
            with command_span("wave resume", run_id, run_traceparent=events[0].traceparent,
                              attributes={"wave.actor": local_user()}):
                return await follow_on(parts, store, follower, state.model_source, timeout_s)

    sys.exit(render.report(asyncio.run(go())))


@click.command("fork")
@click.argument("run_id")
@click.option("--at", "position", type=click.IntRange(min=1), required=True,
              help="the parent's stream version (the # of `wave events`) the fork starts after")
@click.option("--models", "models_file", type=click.Path(dir_okay=False),
              help="the models file (routes, or a cassette) the fork uses from there  [default: the parent's]")
@click.option("--merge-policy", type=click.Choice(["auto", "model", "human"]),
              help="who approves the fork's merge  [default: the parent's]")
@click.option("--domain-policy", "domain_policy", type=click.Path(dir_okay=False),
              help="a domain table (TOML, as .wave/domains.toml) the fork applies from there  [default: the parent's]")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=1800, show_default=True, help="seconds")
@click.pass_obj
def fork_command(parts: Composition, run_id: str, position: int, models_file: str | None, merge_policy: str | None,
                 domain_policy: str | None, timeout_s: float) -> None:
    """Start a new run from RUN_ID's history up to stream version --at, with other settings.

    The parent's events 1…AT are copied into the new run (model answers included, so nothing before
    AT is asked or paid for again) and the services go on from there, deciding only what the parent
    decided after AT: what if the reviewer had been another model (--models), what if the merge
    policy had been stricter (--merge-policy human), what if a domain's policy had been stricter
    (--domain-policy FILE). The parent gets a RunForked and is not changed
    otherwise. Exit status as for `wave run`: 0 merged, 3 waiting for a decision, 1 failed, blocked,
    rejected or cancelled.
    """
    model_source, cassette = _models_source(parts, models_file) if models_file else (None, None)
    domain_table = read_domain_policy(domain_policy) if domain_policy else None

    async def go() -> Outcome:
        async with parts.store() as store:
            _, parent = await queries.load_run(store, run_id)
            models = parent.model_source if model_source is None else model_source
            services = parts.embedded_services(models)  # a service that cannot start refuses before the fork is stored
            child = await forking.fork_run(
                store, actor=local_user(), run_id=run_id, at=position, services=list(FACTORIES),
                merge_policy=merge_policy, model_source=models, cassette=cassette, domain_table=domain_table,
            )
            render.console.print(f"run [bold]{child}[/] forked from {run_id} at #{position} "
                                 f"(merge policy {merge_policy or parent.merge_policy}) — {parts.settings.mode}")
            return await follow(parts, store, child, timeout_s, services, models)

    sys.exit(render.report(asyncio.run(go())))


def _models_source(parts: Composition, path: str) -> tuple[str, str]:
    """A models file, or a cassette (turned into the scripted models file that plays it), and the
    cassette the fork carries ("" for a models file: it asks those models)."""
    from wave_llm import load_cassette
    from wave_llm.errors import CassetteError

    if not Path(path).is_file():
        raise UserError(f"--models {path}: no such file")
    try:
        load_cassette(path)
    except (CassetteError, OSError):
        source = str(Path(path).resolve())
        parts.models_setup(source)  # a file that is neither is refused here, with its problem
        return source, ""
    return parts.use_cassette(path), _cassette_document(path)


@click.command("demo")
@click.option("--examples", "examples_dir", type=click.Path(file_okay=False), help="the examples/ directory")
@click.option("--stack", is_flag=True, help="every service its own process over PostgreSQL and Kafka")
@click.option("--image", help="with --stack: run the relay and the services as containers of this image "
              "(a Docker daemon at DOCKER_HOST; see `make demo-images`)")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=600, show_default=True)
@click.pass_obj
def demo_command(parts: Composition, examples_dir: str | None, stack: bool, image: str | None, timeout_s: float) -> None:
    """Deliver the sample story end to end on this machine, offline.

    A copy of examples/sample-repo becomes a git repository under WAVE_HOME/demo; the story in
    examples/stories/slugify runs with its cassette of model answers: the first change fails
    the tests, the fix passes, and the branch is merged into main. Embedded by default; with
    --stack (needs WAVE_DATABASE_URL and WAVE_KAFKA_BOOTSTRAP, see `make demo-stack`) the relay
    and each service run as their own processes in a fresh database `wave_demo`; with --image too,
    as containers of WAVE's image, non-root with a read-only root filesystem (`make demo-images`).
    """
    from ..demo import demo_files, find_examples, fresh_repository

    settings = parts.settings
    if stack and not settings.distributed:
        raise UserError("--stack needs WAVE_DATABASE_URL (postgresql://…) and WAVE_KAFKA_BOOTSTRAP; `make demo-stack` sets them")
    if settings.distributed and not stack:
        raise UserError("WAVE_KAFKA_BOOTSTRAP is set: use `wave demo --stack` (or unset it for the embedded demo)")
    if image and not stack:
        raise UserError("--image runs the stack's processes as containers: add --stack")
    files = demo_files(find_examples(examples_dir))
    repo = fresh_repository(files.repo, settings.home / "demo" / "sample-repo")
    render.console.print(f"sample repository: {repo} (main at its first commit)")
    model_source = parts.use_cassette(str(files.cassette))
    story = files.story.read_text(encoding="utf-8").strip()
    outcome = asyncio.run(
        _demo_stack(parts, story, repo, timeout_s, model_source, image, files.cassette.parent.resolve()) if stack
        else _demo_embedded(parts, story, repo, timeout_s, model_source)
    )
    code = render.report(outcome)
    if code == 0:
        render.console.print(f"the merged change: git -C {repo} log --oneline main")
    sys.exit(code)


async def _submit_demo(parts: Composition, store, story: str, repo: Path, model_source: str) -> str:
    run_id = await commands.submit_run(store, actor=local_user(), story=story, repo=str(repo), budget_usd=1.0,
                                       max_retries=3, model_source=model_source)
    render.submitted(run_id, parts.settings.mode)
    return run_id


async def _demo_embedded(parts: Composition, story: str, repo: Path, timeout_s: float, model_source: str) -> Outcome:
    services = parts.embedded_services(model_source)
    async with parts.store() as store:
        run_id = await _submit_demo(parts, store, story, repo, model_source)
        return await follow(parts, store, run_id, timeout_s, services, model_source)


async def _demo_stack(parts: Composition, story: str, repo: Path, timeout_s: float, model_source: str,
                      image: str | None = None, cassette_dir: Path | None = None) -> Outcome:
    from ..demo import ContainerStack, Stack, fresh_database

    database_url = await fresh_database(parts.settings.database_url, "wave_demo")
    prefix = f"wave-demo-{uuid.uuid4().hex[:8]}"
    # The stack's processes read their settings, the models file included, from the environment they
    # are given; this process's own environment is left as it is.
    env = {**parts.env, "WAVE_DATABASE_URL": database_url, "WAVE_TOPIC_PREFIX": prefix, "WAVE_MODELS_CONFIG": model_source}
    stack_parts = Composition.from_env(env)
    logs = stack_parts.settings.home / "demo" / "logs"
    if image:
        home = stack_parts.settings.home.resolve()
        mounts = [(home, True), *([(cassette_dir, False)] if cassette_dir is not None else [])]
        processes: Stack = ContainerStack(list(FACTORIES), env, logs, image=image, prefix=prefix, mounts=mounts)
    else:
        processes = Stack(list(FACTORIES), env, logs)
    where = f"containers of {image}" if image else "processes"
    render.console.print(f"starting the relay and {len(FACTORIES)} services as {where} "
                         f"(logs in {logs}; topics {prefix}.*)")
    # The containers' user takes the demo's home over when they start: the run is submitted (which
    # opens the repository as this user) first; the relay publishes it once it runs.
    submit_first = image is not None
    if not submit_first:
        processes.start()
    render.offline_banner(stack_parts.offline_banner(model_source))
    try:
        async with stack_parts.store() as store:
            run_id = await _submit_demo(stack_parts, store, story, repo, model_source)
            if submit_first:
                processes.start()
            follower = follower_of(stack_parts, store, run_id)
            return await follow_distributed(follower, timeout_s=timeout_s, watch=processes.check)
    finally:
        processes.stop()
