"""One run is one trace, embedded: `wave run` opens the trace's root span, every service the process
runs continues it through the events, and a person's `wave approve` joins it — so every stored event
of the run names one trace, and the spans form one tree rooted at the submission.

The commands run in this process (click's runner), so an in-memory exporter sees their spans."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from wave_cli.demo import demo_files, fresh_repository
from wave_cli.main import cli
from wave_runtime.tracing import configure_tracing

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def trace_id_of(traceparent: str) -> int:
    return int(traceparent.split("-")[1], 16)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_an_embedded_run_answered_by_a_person_is_one_trace_rooted_at_its_submission(tmp_path, monkeypatch):
    exporter = InMemorySpanExporter()
    configure_tracing("wave-tests", exporter)
    for name in os.environ:
        if name.startswith(("WAVE_", "ANTHROPIC_", "OPENAI_", "XAI_", "OTEL_")):
            monkeypatch.delenv(name)
    for name, value in {"WAVE_HOME": str(tmp_path / "home"), "COLUMNS": "200",
                        "WAVE_RETRY_BASE_S": "0.05", "WAVE_RETRY_CAP_S": "0.2"}.items():
        monkeypatch.setenv(name, value)
    files = demo_files(EXAMPLES)
    repo = fresh_repository(files.repo, tmp_path / "sample-repo")
    wave = CliRunner()

    submitted = wave.invoke(cli, ["run", f"@{files.story}", "--repo", str(repo), "--cassette", str(files.cassette),
                                  "--merge-policy", "human", "--json"])
    assert submitted.exit_code == 3, submitted.output  # waits for the person's merge review
    run_id = json.loads(submitted.stdout)["run_id"]
    approved = wave.invoke(cli, ["approve", run_id, "--decision", "approve", "--comment", "looks right"])
    assert approved.exit_code == 0, approved.output
    listed = wave.invoke(cli, ["events", run_id, "--json"])
    assert listed.exit_code == 0, listed.output
    events = json.loads(listed.stdout)

    types = [e["type"] for e in events]
    assert {"FixRequested", "HumanDecisionRecorded", "RunCompleted"} <= set(types)  # a timer, a person, the end
    assert all(e["traceparent"] for e in events), [e["type"] for e in events if not e["traceparent"]]
    (run_trace,) = {trace_id_of(e["traceparent"]) for e in events}

    trace.get_tracer_provider().force_flush()
    spans = [s for s in exporter.get_finished_spans() if s.context.trace_id == run_trace]
    (root,) = [s for s in spans if s.parent is None]
    assert root.name == "wave run" and root.attributes["wave.run_id"] == run_id
    ids = {s.context.span_id for s in spans}
    assert all(s.parent.span_id in ids for s in spans if s is not root)  # one tree, nothing dangling
    (decision,) = [s for s in spans if s.name == "wave approve"]
    assert decision.parent.span_id == root.context.span_id
    answered = next(e for e in events if e["type"] == "HumanDecisionRecorded")
    assert answered["traceparent"].split("-")[2] == f"{decision.context.span_id:016x}"  # stamped by the decision
    handled = {s.attributes["wave.event_id"] for s in spans if s.attributes.get("wave.event_id")}
    assert answered["event_id"] in handled and events[0]["event_id"] in handled
    # No span of this run lies in another trace.
    assert not [s for s in exporter.get_finished_spans()
                if s.attributes.get("wave.run_id") == run_id and s.context.trace_id != run_trace]
