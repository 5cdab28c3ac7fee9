"""Every metric the alerts and dashboards in deploy/k8s query is one a WAVE process serves on
/metrics: the health server of a process that loaded every role's code is scraped, and each PromQL
expression's metric names are looked up in what it served."""

from __future__ import annotations

import asyncio
import importlib
import json
import re
import urllib.request

import pytest
import yaml
from k8s_manifests import K8S
from prometheus_client.parser import text_string_to_metric_families
from wave_runtime.metrics import HealthServer
from wave_runtime.process import LOOPBACK

SERVICE_PACKAGES = ("wave_planner", "wave_developer", "wave_safety", "wave_gitops", "wave_qa", "wave_notifier")
PROMETHEUS_OWN = {"up"}  # Prometheus records it for every target it scrapes
_SUFFIXES = {"counter": ("_total", "_created"), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count", "_created")}
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (not functions, labels, keywords or durations)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings: label values, legends
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges such as [5m] or [$__rate_interval]
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)  # label lists
    names = set()
    for match in re.finditer(r"(?<![\w$.])([A-Za-z_:][\w:]*)\b(\s*\()?", expr):
        word, call = match.group(1), match.group(2)
        if not call and word.lower() not in _KEYWORDS:
            names.add(word)
    return names


def _queries() -> dict[str, str]:
    """Every PromQL expression of deploy/k8s, by where it is."""
    found = {}
    rules = yaml.safe_load((K8S / "base" / "monitoring" / "rules.yaml").read_text())
    for group in rules["spec"]["groups"]:
        for rule in group["rules"]:
            found[f"alert {rule['alert']}"] = rule["expr"]
    for path in sorted((K8S / "base" / "monitoring" / "dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                found[f"{path.name}: {panel['title']} ({target['refId']})"] = target["expr"]
    return found


async def _served_metric_names() -> set[str]:
    for package in SERVICE_PACKAGES:  # what each role's process loads: its service, models, sandbox
        importlib.import_module(package)
    server = HealthServer(0, lambda: True, LOOPBACK)
    await server.start()
    try:
        with await asyncio.to_thread(urllib.request.urlopen, f"http://{LOOPBACK}:{server.port}/metrics", None, 5) as answer:
            text = answer.read().decode()
    finally:
        await server.stop()
    names = set()
    for family in text_string_to_metric_families(text):
        names.update(sample.name for sample in family.samples)
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",)))
    return names


def test_the_extractor_finds_metric_names_and_nothing_else() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (service, le) (rate(wave_handler_seconds_bucket{service="qa"}[$__rate_interval])))'
        ' > 0 and on() absent(up{job="wave/wave-relay"} == 1) unless wave_nope_total offset 5m'
    )
    assert metric_names(expr) == {"wave_handler_seconds_bucket", "up", "wave_nope_total"}


async def test_every_alert_and_dashboard_query_reads_metrics_a_service_serves() -> None:
    served = await _served_metric_names()
    assert {"wave_events_handled_total", "wave_model_cost_usd_total", "wave_sandbox_seconds_bucket"} <= served
    queries = _queries()
    assert len(queries) > 40  # every dashboard panel and alert was read
    missing = {
        where: sorted(metric_names(expr) - served - PROMETHEUS_OWN)
        for where, expr in queries.items()
        if metric_names(expr) - served - PROMETHEUS_OWN
    }
    assert not missing, missing


@pytest.mark.parametrize("path", sorted((K8S / "base" / "monitoring" / "dashboards").glob("*.json")), ids=lambda p: p.name)
def test_each_dashboard_is_grafana_json_with_a_unique_uid(path) -> None:
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"] == path.stem and dashboard["title"].startswith("WAVE / ")
    assert all(p["targets"] and p["gridPos"] for p in dashboard["panels"])
