"""deploy/k8s: Kafka topics and ACLs against the services' code; PostgreSQL, the collector,
and the migrate init container run for real against the test infrastructure."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid

import asyncpg
import pytest
import yaml

from gx_kernel.settings import ServiceSettings

from .k8s_facts import (
    ROOT,
    SERVICES,
    container_env,
    of_kind,
    service_container,
    wiring,
)
from .k8s_render import pod_spec

# ---- Kafka: topics and ACLs from the services' code ---------------------------------------

def expected_acls(settings, consumers) -> dict[tuple, set[str]]:
    """What a service's code touches: its relay writes its topic; each consumer reads its
    topics with its group (named as gx_kernel.service names it) and writes their .dlq; the
    replay of its own dead letters (gx_kernel.dlq_routes) reads the .dlq and re-publishes to
    the topic it follows."""
    acls = {("topic", settings.events_topic, "literal"): {"Write", "Describe"}}
    for spec in consumers:
        acls[("group", f"{settings.topic_prefix}{settings.service_name}.{spec.name}",
              "literal")] = {"Read"}
        for t in spec.topics:
            acls[("topic", settings.topic(t), "literal")] = {"Read", "Write", "Describe"}
            acls[("topic", settings.topic(f"{t}.dlq"), "literal")] = {"Read", "Write",
                                                                      "Describe"}
    return acls


def ops_view(used_topics) -> dict[tuple, set[str]]:
    """What the gateway's ops page reads besides its own topic (gx_gateway.application.ops
    with gx_kernel.metrics.sample_broker and gx_kernel.dlq.list_dead_letters): every domain
    topic's end offsets (Describe), every consumer group's committed offsets (Describe), and
    every dead-letter topic's records (Read)."""
    acls: dict[tuple, set[str]] = {}
    for settings, consumers in used_topics.values():
        for kind, name, pattern in expected_acls(settings, consumers):
            if kind == "group":
                acls[(kind, name, pattern)] = {"Describe"}
            elif name.endswith(".dlq"):
                acls[(kind, name, pattern)] = {"Read", "Describe"}
            elif kind == "topic":
                acls.setdefault((kind, name, pattern), set()).add("Describe")
    return acls


def expected_for(service: str, used_topics) -> dict[tuple, set[str]]:
    own = expected_acls(*used_topics[service])
    if service != "gateway":
        return own
    view = ops_view(used_topics)
    return {key: view.get(key, set()) | own.get(key, set()) for key in view | own}


def granted(user: dict) -> dict[tuple, set[str]]:
    out: dict[tuple, set[str]] = {}
    for acl in user["spec"]["authorization"]["acls"]:
        assert acl.get("type", "allow") == "allow"
        r = acl["resource"]
        out.setdefault((r["type"], r["name"], r.get("patternType", "literal")), set()).update(
            acl["operations"])
    return out


@pytest.fixture(scope="module")
def used_topics(prod):
    with pytest.MonkeyPatch.context() as mp:
        out = {}
        for service in SERVICES:
            env = container_env(prod, service_container(prod, service))
            out[service] = wiring(service, env, mp)
        return out


def test_every_topic_a_service_uses_has_its_kafka_topic(prod, used_topics):
    topics = of_kind(prod, "KafkaTopic")
    needed = {t for settings, consumers in used_topics.values()
              for (kind, t, _) in expected_acls(settings, consumers) if kind == "topic"}
    assert needed == set(topics), f"missing {needed - set(topics)}, unused {set(topics) - needed}"
    max_event = ServiceSettings.model_fields["max_event_bytes"].default
    assert int(prod[("ConfigMap", "gxstat-config")]["data"]["GX_MAX_EVENT_BYTES"]) == max_event
    broker_max = of_kind(prod, "Kafka")["gxstat-kafka"]["spec"]["kafka"]["config"][
        "message.max.bytes"]
    for name, topic in topics.items():
        spec = topic["spec"]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "gxstat-kafka"
        assert spec["replicas"] == 3 and spec["config"]["min.insync.replicas"] == 2
        assert spec["partitions"] >= 3
        assert "retention.ms" in spec["config"]
        # The largest event's record plus a dead letter's error headers, and no more than a
        # broker accepts.
        assert max_event + 16 * 1024 <= spec["config"]["max.message.bytes"] <= broker_max, name


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_user_is_granted_exactly_what_its_code_uses(prod, used_topics, service):
    user = of_kind(prod, "KafkaUser")[service]
    assert user["spec"]["authentication"]["type"] == "scram-sha-512"
    assert granted(user) == expected_for(service, used_topics)
    env = container_env(prod, service_container(prod, service))
    assert env["KAFKA_SASL_USERNAME"] == service
    password = next(v for v in service_container(prod, service)["env"]
                    if v["name"] == "KAFKA_SASL_PASSWORD")
    assert password["valueFrom"]["secretKeyRef"] == {"name": service, "key": "password"}


def test_subscribers_only_read_public_topics_and_their_own_groups(prod):
    from gx_gateway.domain.topics import PUBLIC_TOPICS

    subscribers = {n: u for n, u in of_kind(prod, "KafkaUser").items() if n not in SERVICES}
    assert subscribers, "the overlay names its subscribers"
    for name, user in subscribers.items():
        account = user["metadata"]["annotations"]["gxstat/subscriber-account"]
        assert name == account.replace("_", "-")
        acls = granted(user)
        assert acls.pop(("group", f"{account}.", "prefix")) == {"Read", "Describe"}
        assert acls and all(kind == "topic" and t in PUBLIC_TOPICS and pattern == "literal"
                            and ops == {"Read", "Describe"}
                            for (kind, t, pattern), ops in acls.items()), acls


def test_internal_topics_are_written_by_the_platform_and_read_by_no_subscriber(prod):
    """gateway.events: the gateway's user alone writes it and no user reads it (no consumer
    follows it); a .dlq is read by the platform's own users only (the ops page, replays)."""
    from gx_contracts.envelope import topic_for
    from gx_contracts.events import EVENT_TYPES

    from gx_gateway.domain.topics import PUBLIC_TOPICS

    internal = {t for t in of_kind(prod, "KafkaTopic") if t.endswith(".dlq")}
    internal |= {topic_for(t) for t in EVENT_TYPES} - set(PUBLIC_TOPICS)
    assert "gateway.events" in internal and not internal & set(PUBLIC_TOPICS)
    touching: dict[str, dict[str, set[str]]] = {}
    for name, user in of_kind(prod, "KafkaUser").items():
        for (kind, topic, pattern), ops in granted(user).items():
            assert pattern == "literal" or kind == "group", (name, topic, pattern)
            if kind == "topic" and topic in internal:
                touching.setdefault(topic, {})[name] = ops
    assert touching["gateway.events"] == {"gateway": {"Write", "Describe"}}
    for topic, users in touching.items():
        assert set(users) <= set(SERVICES), f"{topic} granted outside the platform: {users}"
        if not topic.endswith(".dlq"):
            assert not {u for u, ops in users.items() if "Read" in ops}, (topic, users)


def test_kafka_is_kraft_with_three_controllers_three_brokers_and_authorization(prod):
    pools = of_kind(prod, "KafkaNodePool")
    roles = {tuple(p["spec"]["roles"]): p["spec"]["replicas"] for p in pools.values()}
    assert roles == {("controller",): 3, ("broker",): 3}
    assert all(p["metadata"]["labels"]["strimzi.io/cluster"] == "gxstat-kafka"
               for p in pools.values())
    kafka = of_kind(prod, "Kafka")["gxstat-kafka"]["spec"]["kafka"]
    assert kafka["authorization"]["type"] == "simple"
    assert kafka["config"]["auto.create.topics.enable"] is False
    port = int(prod[("ConfigMap", "gxstat-config")]["data"]["KAFKA_BOOTSTRAP_SERVERS"]
               .rsplit(":", 1)[1])
    for listener in kafka["listeners"]:
        assert listener["tls"] and listener["authentication"]["type"] == "scram-sha-512"
    assert port in {listener["port"] for listener in kafka["listeners"]
                    if listener["type"] == "internal"}


# ---- PostgreSQL and the collector ---------------------------------------------------------

def test_postgres_is_replicated_synchronously_and_backed_up(prod):
    cluster = of_kind(prod, "Cluster")["gxstat-pg"]["spec"]
    assert cluster["instances"] == 3
    assert cluster["postgresql"]["synchronous"]["number"] >= 1
    assert cluster["backup"]["barmanObjectStore"]["destinationPath"].startswith("s3://")
    backups = of_kind(prod, "ScheduledBackup").values()
    assert [b["spec"]["cluster"]["name"] for b in backups] == ["gxstat-pg"]
    assert all(b["spec"]["method"] == "barmanObjectStore" for b in backups)
    assert cluster["bootstrap"]["initdb"]["database"] == "gxstat"  # as in docker-compose.yml


def test_collector_runs_the_compose_configuration(prod):
    compose_config = yaml.safe_load((ROOT / "deploy" / "otel-collector.yaml").read_text())
    k8s_config = yaml.safe_load(prod[("ConfigMap", "otel-collector")]["data"]["config.yaml"])
    follow = "deploy/k8s/base/platform/otel-collector.yaml must follow deploy/otel-collector.yaml"
    for section in ("receivers", "processors", "extensions", "service"):
        assert k8s_config[section] == compose_config[section], f"{section}: {follow}"
    assert set(k8s_config["exporters"]) == set(compose_config["exporters"]), follow
    collector = pod_spec(prod[("Deployment", "otel-collector")])["containers"][0]
    assert {"name": "TRACES_OTLP_ENDPOINT", "value": "jaeger-collector.observability:4317"} \
        in collector["env"]
    endpoint = container_env(prod, service_container(prod, "agri"))["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert endpoint == "http://otel-collector:4318"
    assert ("Service", "otel-collector") in prod


# ---- the init container really sets a service up ------------------------------------------

async def test_migrate_init_container_sets_up_the_schema_and_exits(prod, infra):
    deployment = prod[("Deployment", "agri")]
    migrate = pod_spec(deployment)["initContainers"][0]
    env = container_env(prod, migrate)
    schema = f"k8s_agri_{uuid.uuid4().hex[:8]}"
    run_env = {**os.environ, **{k: v for k, v in env.items() if k.startswith("GX_")},
               "DATABASE_URL": infra.database_url, "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
               "KAFKA_ENABLE_IDEMPOTENCE": "false", "OTEL_TRACES_EXPORTER": "none",
               "GX_DB_SCHEMA": schema, "GX_TOPIC_PREFIX": f"{schema}."}
    assert env["GX_RELAY_ENABLED"] == "false"  # it must not publish while it sets up
    assert migrate["command"][:2] == ["python", "-c"]
    done = subprocess.run([sys.executable, "-c", migrate["command"][2]], env=run_env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    conn = await asyncpg.connect(infra.database_url)
    try:
        tables = {r["tablename"] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)}
    finally:
        await conn.close()
    assert {"events", "streams", "idempotency_keys", "tasks", "reports"} <= tables
