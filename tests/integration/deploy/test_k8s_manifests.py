"""deploy/k8s: both overlays build with Kustomize and every object passes kubeconform, strictly,
against Kubernetes 1.31 and the CRDs of Strimzi, CloudNativePG, KEDA and the Prometheus operator —
offline, from the schemas in ../shared/data/k8s-schemas. And what an operator relies on holds: the
role each Deployment runs, the scaling limits, the overlays' replication."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from k8s_manifests import K8S, OVERLAYS, kustomize_build, validate
from wave_runtime.kafka.topics import WORK_PARTITIONS, WORK_TOPIC_CONFIG

ROLES = ("planner", "developer", "safety", "gitops", "qa", "notifier")
EVENTS_PARTITIONS = 6


def _objects(overlay: str) -> list[dict]:
    built = kustomize_build(K8S / "overlays" / overlay)
    assert built.returncode == 0, built.stderr
    return [doc for doc in yaml.safe_load_all(built.stdout) if doc]


def _named(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_overlay_builds_and_every_object_is_valid(overlay: str) -> None:
    built = kustomize_build(K8S / "overlays" / overlay)
    assert built.returncode == 0, built.stderr
    checked = validate(built.stdout)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    count = sum(1 for doc in yaml.safe_load_all(built.stdout) if doc)
    assert f"{count} resources found" in checked.stdout
    assert f"Valid: {count}, Invalid: 0, Errors: 0, Skipped: 0" in checked.stdout


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_role_runs_from_the_one_image_with_probes_and_a_locked_down_container(overlay: str) -> None:
    objects = _objects(overlay)
    deployments = _named(objects, "Deployment")
    assert set(deployments) == {f"wave-{r}" for r in (*ROLES, "relay", "api")}
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        role = name.removeprefix("wave-")
        expected = {"relay": ["relay"]}.get(role, ["service", role])
        assert container["command"] == ["wave"] and container["args"][: len(expected)] == expected
        assert container["image"] == "wave:0.1.0"
        assert container["args"][-2:] == ["--health-port", "9100"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == ("/healthz" if role == "relay" else "/readyz")
        assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"]
        assert security["capabilities"]["drop"] == ["ALL"]
        assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp", "/var/lib/wave"}
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert pod.get("runtimeClassName") == ("gvisor" if role == "qa" else None)
        secrets = {e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e}
        model_caller = role in ("planner", "developer", "safety")
        assert ("wave-model-keys" in secrets) == model_caller
        assert ("wave-slack" in secrets) == (role == "notifier")
    assert deployments["wave-relay"]["spec"]["replicas"] == (1 if overlay == "dev" else 2)
    assert _named(objects, "Service")["wave-api"]["spec"]["ports"][0]["port"] == 8080
    assert _named(objects, "RuntimeClass")["gvisor"]["handler"] == "runsc"
    assert set(_named(objects, "PodMonitor")) == set(deployments)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_role_scales_on_its_groups_lag_within_the_partition_count(overlay: str) -> None:
    objects = _objects(overlay)
    scaled = _named(objects, "ScaledObject")
    assert set(scaled) == {f"wave-{r}" for r in ROLES}  # never the relay: one is active by design
    topic = _named(objects, "KafkaTopic")["wave-events"]["spec"]
    assert topic["partitions"] == EVENTS_PARTITIONS
    work = _named(objects, "KafkaTopic")["wave-work"]["spec"]
    for name, scaled_object in scaled.items():
        spec = scaled_object["spec"]
        role = name.removeprefix("wave-")
        # The developer also scales on its work group's lag: a run's tasks spread over the work topic.
        expected = [(f"wave.{role}", topic["topicName"])] + ([(f"wave.{role}.work", work["topicName"])] if role == "developer" else [])
        triggers = [(t["metadata"]["consumerGroup"], t["metadata"]["topic"]) for t in spec["triggers"]]
        assert triggers == expected
        assert all(t["metadata"]["allowIdleConsumers"] == "false" for t in spec["triggers"])
        cap = WORK_PARTITIONS if role == "developer" else EVENTS_PARTITIONS
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] <= cap


def test_dev_is_one_broker_and_one_database_and_prod_replicates() -> None:
    for overlay, replicas, isr, instances in (("dev", 1, None, 1), ("prod", 3, 2, 3)):
        objects = _objects(overlay)
        assert _named(objects, "KafkaNodePool")["dual-role"]["spec"]["replicas"] == replicas
        assert _named(objects, "Kafka")["wave-kafka"]["spec"]["kafka"]["config"]["default.replication.factor"] == replicas
        for topic in _named(objects, "KafkaTopic").values():
            assert topic["spec"]["replicas"] == replicas
            assert topic["spec"]["config"].get("min.insync.replicas") == isr
        assert _named(objects, "Cluster")["wave-db"]["spec"]["instances"] == instances
    topics = {t["spec"]["topicName"]: t["spec"] for t in _named(_objects("prod"), "KafkaTopic").values()}
    assert (topics["wave.events.v1"]["partitions"], topics["wave.events.v1"]["config"]["retention.ms"]) == (6, 604800000)
    assert (topics["wave.events.dlq.v1"]["partitions"], topics["wave.events.dlq.v1"]["config"]["retention.ms"]) == (1, -1)
    # The work topic as the services create it where nobody did (`ensure_topics`).
    assert (topics["wave.work.v1"]["partitions"], topics["wave.work.v1"]["config"]["retention.ms"]) == (
        WORK_PARTITIONS, int(WORK_TOPIC_CONFIG["retention.ms"]))


def test_a_misspelled_field_fails_validation(tmp_path: Path) -> None:
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    planner = copy / "base" / "services" / "planner.yaml"
    planner.write_text(planner.read_text().replace("readinessProbe:", "readinesProbe:", 1))
    scaling = copy / "base" / "scaling.yaml"
    scaling.write_text(scaling.read_text().replace("maxReplicaCount: 6", 'maxReplicaCount: "six"', 1))
    built = kustomize_build(copy / "overlays" / "prod")
    assert built.returncode == 0, built.stderr
    checked = validate(built.stdout)
    assert checked.returncode == 1
    assert "Deployment wave-planner is invalid" in checked.stdout and "'readinesProbe' not allowed" in checked.stdout
    assert "ScaledObject wave-planner is invalid" in checked.stdout and "/spec/maxReplicaCount" in checked.stdout
    assert "Invalid: 2" in checked.stdout


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_api_dashboard_can_reach_every_roles_metrics(overlay: str) -> None:
    from urllib.parse import urlsplit

    from wave_api.scrape import parse_targets

    objects = _objects(overlay)
    (container,) = _named(objects, "Deployment")["wave-api"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    targets = {t.service: urlsplit(t.url) for t in parse_targets(env["WAVE_API_METRICS_TARGETS"])}
    assert set(targets) == {*ROLES, "relay"}
    services = _named(objects, "Service")
    for role, url in targets.items():
        service = services[url.hostname]
        assert service["spec"]["selector"] == {"app.kubernetes.io/name": f"wave-{role}"}
        assert {p["port"] for p in service["spec"]["ports"]} == {url.port} and url.path == "/metrics"
    scrape = _named(objects, "NetworkPolicy")["wave-api-scrape"]["spec"]
    allowed = scrape["egress"][0]["to"][0]["podSelector"]["matchExpressions"][0]["values"]
    assert set(allowed) == {f"wave-{r}" for r in (*ROLES, "relay")}
    assert scrape["egress"][0]["ports"] == [{"protocol": "TCP", "port": 9100}]
