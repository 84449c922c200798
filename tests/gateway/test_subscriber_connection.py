"""What a subscriber is told about connecting follows the deployment (issue 14 §6): SASL_SSL
with SCRAM in Kubernetes, SASL_PLAINTEXT on compose's subscriber listener, plaintext without
ACLs on the embedded broker — and its Kafka user is the one the manifests create."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gx_gateway.application.asyncapi_served import server_entry
from gx_gateway.application.subscriptions import connection_details
from gx_gateway.domain import topics as tp
from gx_gateway.settings import GatewaySettings

ROOT = Path(__file__).resolve().parents[2]


def test_kubernetes_sasl_ssl_names_the_strimzi_user_and_the_ca():
    c = tp.connection("kafka.gxstat.example:9093", "SASL_SSL", None, "sheng_xitong")
    assert c["security_protocol"] == "SASL_SSL" and c["sasl_mechanism"] == "SCRAM-SHA-512"
    assert c["sasl_username"] == "sheng-xitong" and c["acls_enforced"] is True
    assert c["client_config"]["sasl_plain_username"] == "sheng-xitong"
    assert "ssl_cafile" in c["client_config"] and "CA" in c["note"]
    assert "sheng_xitong." in c["note"] and c["group_id_prefix"] == "sheng_xitong."


def test_plaintext_says_there_is_no_authentication():
    c = tp.connection("127.0.0.1:9092", "PLAINTEXT", "SCRAM-SHA-512", "sheng_xitong")
    assert c["sasl_mechanism"] is None and c["sasl_username"] is None
    assert c["acls_enforced"] is False and "不做 ACL" in c["note"]


def test_the_public_settings_win_over_the_gateways_own(monkeypatch):
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    s = GatewaySettings(KAFKA_BOOTSTRAP_SERVERS="kafka:9092",
                        GX_PUBLIC_KAFKA_BOOTSTRAP="localhost:9094",
                        GX_PUBLIC_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT")
    c = connection_details(s, "sheng_xitong")
    assert (c["bootstrap_servers"], c["security_protocol"], c["sasl_mechanism"]) == (
        "localhost:9094", "SASL_PLAINTEXT", "SCRAM-SHA-512")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")  # k8s: as the gateway connects
    c = connection_details(GatewaySettings(KAFKA_BOOTSTRAP_SERVERS="gxstat-kafka:9093"), "s_x")
    assert c["security_protocol"] == "SASL_SSL" and c["sasl_username"] == "s-x"


def _subscriber_users() -> list[dict]:
    docs = yaml.safe_load_all((ROOT / "deploy/k8s/overlays/guangxi-prod/subscribers.yaml")
                              .read_text(encoding="utf-8"))
    return [d for d in docs if d and d.get("kind") == "KafkaUser"]


@pytest.mark.parametrize("user", _subscriber_users(), ids=lambda u: u["metadata"]["name"])
def test_the_kafka_user_told_is_the_one_kubernetes_creates(user):
    account = user["metadata"]["annotations"]["gxstat/subscriber-account"]
    assert tp.kafka_username(account) == user["metadata"]["name"]
    groups = [a["resource"] for a in user["spec"]["authorization"]["acls"]
              if a["resource"]["type"] == "group"]
    assert groups == [{"type": "group", "name": tp.group_prefix(account), "patternType": "prefix"}]


def test_compose_has_a_sasl_listener_for_subscribers_and_tells_them_so():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    kafka = compose["services"]["kafka"]["environment"]
    assert "SUBSCRIBERS://:9094" in kafka["KAFKA_LISTENERS"]
    assert "SUBSCRIBERS:SASL_PLAINTEXT" in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
    assert kafka["KAFKA_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    assert kafka["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert "9094:9094" in compose["services"]["kafka"]["ports"]
    gw = compose["services"]["gateway"]["environment"]
    assert gw["GX_PUBLIC_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
    assert gw["GX_PUBLIC_KAFKA_BOOTSTRAP"].endswith(":9094")
    setup = " ".join(compose["services"]["kafka-setup"]["command"])
    assert "--entity-name sheng-xitong" in setup and "User:sheng-xitong" in setup
    assert "--resource-pattern-type prefixed" in setup and "sheng_xitong." in setup
    assert "gateway.events" not in setup and ".dlq" not in setup


def test_the_asyncapi_server_entry_follows_the_connection():
    server, schemes = server_entry(tp.connection("kafka.gxstat.example:9094", "SASL_SSL", None,
                                                 "x"))
    assert server["host"] == "kafka.gxstat.example:9094" and server["protocol"] == "kafka-secure"
    assert server["security"] == [{"$ref": "#/components/securitySchemes/scramSha512"}]
    assert schemes == {"scramSha512": {"type": "scramSha512",
                                       "description": schemes["scramSha512"]["description"]}}
    server, schemes = server_entry(tp.connection("localhost:9094", "SASL_PLAINTEXT", None, "x"))
    assert server["protocol"] == "kafka" and "scramSha512" in schemes


def test_compose_exports_metrics_to_the_collector_which_serves_them():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert compose["x-service-env"]["OTEL_METRICS_EXPORTER"] == "otlp"
    config = yaml.safe_load((ROOT / "deploy/otel-collector.yaml").read_text(encoding="utf-8"))
    metrics = config["service"]["pipelines"]["metrics"]
    assert metrics["receivers"] == ["otlp"] and "prometheus" in metrics["exporters"]
    assert "8889:8889" in compose["services"]["otel-collector"]["ports"]
