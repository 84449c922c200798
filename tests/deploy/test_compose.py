"""docker-compose.yml is a valid Compose file and every image it builds can be built."""
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SERVICES = ["registry", "agri", "population", "organisation", "workflow", "gateway"]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def built(compose: dict) -> dict[str, dict]:
    return {name: svc["build"] for name, svc in compose["services"].items() if "build" in svc}


def test_compose_matches_the_compose_specification(compose):
    # Vendored from the Compose Specification (compose_spec.json as shipped by docker-compose).
    schema = json.loads((HERE / "compose-spec.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema).validate(compose)


def test_compose_runs_the_whole_platform(compose):
    names = set(compose["services"])
    assert {"postgres", "kafka", "otel-collector", "jaeger", *SERVICES} <= names
    assert set(built(compose)) == set(SERVICES)
    assert "8000:8000" in compose["services"]["gateway"]["ports"]
    for name in SERVICES:
        svc = compose["services"][name]
        env = svc["environment"]
        assert env["KAFKA_ENABLE_IDEMPOTENCE"] == "true"  # real Kafka supports it
        for key in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "GX_INTERNAL_SECRET",
                    "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME"):
            assert env.get(key), f"{name} lacks {key}"
        assert "/health" in " ".join(svc["healthcheck"]["test"])
    gateway_env = compose["services"]["gateway"]["environment"]
    for name in SERVICES[:-1]:
        assert gateway_env[f"GX_{name.upper()}_URL"] == f"http://{name}:8000"


def test_collector_config_is_mounted_and_exists(compose):
    mounts = compose["services"]["otel-collector"]["volumes"]
    sources = [m.split(":")[0] for m in mounts]
    assert all((ROOT / src).is_file() for src in sources)
    config = yaml.safe_load((ROOT / "deploy/otel-collector.yaml").read_text())
    assert "otlp" in config["receivers"]
    assert any(e.startswith("otlp") for e in config["service"]["pipelines"]["traces"]["exporters"])


@pytest.mark.parametrize("name", SERVICES)
def test_each_build_names_an_existing_dockerfile(compose, name):
    build = built(compose)[name]
    context = ROOT / build["context"]
    dockerfile = context / build.get("dockerfile", "Dockerfile")
    assert dockerfile.is_file(), dockerfile
    assert dockerfile == ROOT / "services" / name / "Dockerfile"


def _cmd_module(dockerfile: Path) -> str:
    cmd = [line for line in dockerfile.read_text().splitlines() if line.startswith("CMD")]
    assert len(cmd) == 1, "one CMD per Dockerfile"
    argv = json.loads(cmd[0][len("CMD"):])
    assert argv[:2] == ["python", "-m"], argv
    return argv[2]


@pytest.mark.parametrize("name", SERVICES)
def test_each_dockerfile_runs_its_service_entrypoint(name):
    dockerfile = ROOT / "services" / name / "Dockerfile"
    module = _cmd_module(dockerfile)
    assert module == f"gx_{name}.main"
    assert (ROOT / "services" / name / f"gx_{name}" / "main.py").is_file(), \
        f"{module} has no services/{name}/gx_{name}/main.py"
    copied = re.findall(r"^COPY\s+(\S+)", dockerfile.read_text(), flags=re.M)
    assert {"kernel/", "contracts/", f"services/{name}/"} <= set(copied)


def test_compose_subscribers_get_only_public_topics_over_sasl(compose):
    """Beside tests/gateway/test_subscriber_connection.py (the SASL listener, no gateway.events
    or .dlq in kafka-setup): every Kafka port published is a SASL one (the services' plaintext
    :9092 stays inside), an authorizer enforces the ACLs, and subscribers are granted public
    topics only (gx_gateway.domain.topics), read-only."""
    from gx_gateway.domain.topics import grantable

    kafka = compose["services"]["kafka"]
    env = kafka["environment"]
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    published = {int(p.split(":")[-1].split("/")[0]) for p in kafka["ports"]}
    listeners = {int(x.rsplit(":", 1)[1]): x.split(":", 1)[0]
                 for x in env["KAFKA_LISTENERS"].split(",")}
    assert {protocols[listeners[port]] for port in published} == {"SASL_PLAINTEXT"}
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
    script = " ".join(compose["services"]["kafka-setup"]["command"])
    granted = set(re.findall(r"--topic\s+([^\s;]+)", script))
    assert granted and all(grantable(t) for t in granted), granted
    assert set(re.findall(r"--operation\s+([^\s;]+)", script)) == {"Read", "Describe"}
