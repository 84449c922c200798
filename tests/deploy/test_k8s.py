"""deploy/k8s renders, validates offline and matches what the services really do.

Core kinds: kubernetes-validate (strict). Strimzi and CloudNativePG resources: the CRD schemas
in ../shared/k8s-crds, hardened to refuse unknown fields. Topics, ACLs and settings are checked
against the services' own code (their create_app), not against a list kept here."""
from __future__ import annotations

import shutil
import subprocess

import jsonschema
import kubernetes_validate
import pytest
import yaml

from .k8s_facts import (
    K8S,
    KAFKA_SETTINGS,
    KUSTOMIZATIONS,
    ROOT,
    SERVICES,
    aliases,
    container_env,
    of_kind,
    service_container,
    settings_class,
)
from .k8s_render import containers, crd_schemas, image_name, key, pod_spec, render, strict

CRDS = ROOT.parent / "shared" / "k8s-crds"  # in CI a read-only copy beside the clone
K8S_VERSIONS = ["1.29", "1.37"]  # oldest a province is likely to run, newest the tool knows
OTEL_SETTINGS = {"OTEL_SERVICE_NAME", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER",
                 "OTEL_METRICS_EXPORTER"}
# Secrets that operators write: CloudNativePG `<cluster>-app`, Strimzi `<kafka>-cluster-ca-cert`
# and one per KafkaUser. Others the province creates, and the README must say how.
PROVINCE_SECRETS = {"gxstat-secrets", "gxstat-pg-backup", "gateway-tls"}
# ../shared has no ScheduledBackup CRD; the fields of CloudNativePG's v1 ScheduledBackup spec.
SCHEDULED_BACKUP = {
    "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "postgresql.cnpg.io/v1"}, "kind": {"const": "ScheduledBackup"},
        "metadata": {"type": "object"},
        "spec": {"type": "object", "required": ["cluster", "schedule"], "properties": {
            "backupOwnerReference": {"enum": ["none", "self", "cluster"]},
            "cluster": {"type": "object", "required": ["name"],
                        "properties": {"name": {"type": "string"}}},
            "immediate": {"type": "boolean"},
            "method": {"enum": ["barmanObjectStore", "volumeSnapshot", "plugin"]},
            "online": {"type": "boolean"}, "schedule": {"type": "string"},
            "suspend": {"type": "boolean"}, "target": {"enum": ["primary", "prefer-standby"]}}}}}


@pytest.fixture(scope="module", params=KUSTOMIZATIONS, ids=lambda p: p.name)
def rendered(request) -> list[dict]:
    return render(request.param)


@pytest.fixture(scope="module")
def schemas() -> dict:
    assert CRDS.is_dir(), f"CRDs not found at {CRDS} (../shared beside the repository)"
    out = crd_schemas(CRDS)
    out[("postgresql.cnpg.io/v1", "ScheduledBackup")] = strict(SCHEDULED_BACKUP)
    return out


# ---- rendering and schemas ----------------------------------------------------------------

@pytest.mark.skipif(not shutil.which("kubectl"), reason="no kubectl to cross-check with")
@pytest.mark.parametrize("where", KUSTOMIZATIONS, ids=lambda p: p.name)
def test_offline_rendering_equals_kubectl_kustomize(where):
    out = subprocess.run(["kubectl", "kustomize", str(where)], capture_output=True, text=True,
                         check=True).stdout
    expected = {key(d): d for d in yaml.safe_load_all(out) if d}
    assert {key(d): d for d in render(where)} == expected


def test_core_kinds_pass_strict_kubernetes_validation(rendered):
    core = [d for d in rendered if d["apiVersion"].count(".") == 0
            or d["apiVersion"].split("/")[0].endswith(".k8s.io")]
    assert {"Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"} <= \
        {d["kind"] for d in core}
    for doc in core:
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{key(doc)} on {version}: {'.'.join(map(str, exc.path))}: "
                            f"{exc.message}")


def test_custom_resources_match_their_crds(rendered, schemas):
    custom = [d for d in rendered if d["apiVersion"].split("/")[0].endswith(
        ("strimzi.io", "cnpg.io"))]
    assert {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "Cluster",
            "ScheduledBackup"} <= {d["kind"] for d in custom}
    for doc in custom:
        schema = schemas.get((doc["apiVersion"], doc["kind"]))
        assert schema is not None, f"no served CRD version for {doc['apiVersion']} {doc['kind']}"
        errors = list(jsonschema.Draft7Validator(schema).iter_errors(doc))
        assert not errors, f"{key(doc)}: " + "; ".join(
            f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_hardened_crd_schemas_refuse_a_misspelt_field(schemas, prod):
    topic = dict(prod[("KafkaTopic", "agri.events")])
    topic["spec"] = {**topic["spec"], "partitionz": 6}
    validator = jsonschema.Draft7Validator(schemas[("kafka.strimzi.io/v1", "KafkaTopic")])
    assert any("partitionz" in e.message for e in validator.iter_errors(topic))
    # ... while free-form maps (topic config) stay open, as the CRD means them to be.
    topic["spec"] = {**prod[("KafkaTopic", "agri.events")]["spec"],
                     "config": {"segment.bytes": 1 << 30}}
    assert not list(validator.iter_errors(topic))


def test_overlay_sets_namespace_and_pins_images(prod):
    assert prod[("Namespace", "gxstat")]
    assert all(d["metadata"].get("namespace") == "gxstat" for k, d in prod.items()
               if k[0] != "Namespace")
    for doc in of_kind(prod, "Deployment").values():
        for c in containers(doc):
            assert ":" in c["image"].rsplit("/", 1)[-1] and not c["image"].endswith(":latest"), \
                f"{key(doc)} {c['name']}: image {c['image']} has no pinned tag"


# ---- the services --------------------------------------------------------------------------

def test_every_compose_service_has_its_deployment_service_and_budget(prod):
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    built = {n for n, s in compose["services"].items() if "build" in s}
    assert built == set(SERVICES)
    for name in built:
        deployment = prod[("Deployment", name)]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert prod[("Service", name)]["spec"]["selector"].items() <= labels.items()
        assert prod[("PodDisruptionBudget", name)]["spec"]["selector"]["matchLabels"].items() \
            <= labels.items()
        assert prod[("Service", name)]["spec"].get("type", "ClusterIP") == "ClusterIP"
        container = service_container(prod, name)
        assert image_name(container["image"]).endswith(f"/gxstat/{name}")
        # What compose gives the service, Kubernetes gives it too (values may differ).
        env = container_env(prod, container)
        missing = set(compose["services"][name]["environment"]) - set(env)
        assert not missing, f"{name}: compose sets {missing}, the Deployment does not"


@pytest.mark.parametrize("service", SERVICES)
def test_deployment_env_names_are_settings_the_service_reads(prod, service):
    known = aliases(settings_class(service)) | OTEL_SETTINGS | KAFKA_SETTINGS
    for container in containers(prod[("Deployment", service)]):
        unknown = set(container_env(prod, container)) - known
        assert not unknown, f"{service}/{container['name']}: no such setting {unknown}"


@pytest.mark.parametrize("service", SERVICES)
def test_pods_are_probed_bounded_and_locked_down(prod, service):
    deployment = prod[("Deployment", service)]
    spec = pod_spec(deployment)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] > 0
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec["automountServiceAccountToken"] is False
    tmp = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
    for c in containers(deployment):
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert any(m["mountPath"] == "/tmp" and m["name"] in tmp for m in c["volumeMounts"])
        assert {"cpu", "memory"} <= set(c["resources"]["requests"])
        assert "memory" in c["resources"]["limits"]
    main = service_container(prod, service)
    assert main["livenessProbe"]["httpGet"]["path"] == "/health"
    assert main["startupProbe"]["httpGet"]["path"] == "/health"
    assert main["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert main["ports"] == [{"name": "http", "containerPort": 8000}]
    assert container_env(prod, main)["GX_HTTP_PORT"] == "8000"
    migrate = spec["initContainers"][0]
    assert migrate["image"] == main["image"] and f"gx_{service}.main" in migrate["command"][-1]


def test_gateway_scales_and_is_the_only_http_door(prod):
    hpa = prod[("HorizontalPodAutoscaler", "gateway")]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": "gateway"}
    assert hpa["minReplicas"] >= 2
    assert "replicas" not in prod[("Deployment", "gateway")]["spec"]  # the HPA owns it
    ingresses = of_kind(prod, "Ingress")
    backends = {p["backend"]["service"]["name"] for i in ingresses.values()
                for r in i["spec"]["rules"] for p in r["http"]["paths"]}
    assert backends == {"gateway"}
    env = container_env(prod, service_container(prod, "gateway"))
    for name in SERVICES[:-1]:
        assert env[f"GX_{name.upper()}_URL"] == f"http://{name}:8000"
        assert prod[("Service", name)]["spec"]["ports"][0]["port"] == 8000


def ingress_peers(prod, labels: dict) -> list[list[dict]]:
    """The `from` lists of every Ingress-type NetworkPolicy selecting pods with these labels."""
    out = []
    for policy in of_kind(prod, "NetworkPolicy").values():
        spec = policy["spec"]
        if "Ingress" in spec["policyTypes"] and \
                spec["podSelector"].get("matchLabels", {}).items() <= labels.items():
            out += [rule["from"] for rule in spec.get("ingress", [])]
    return out


def test_network_policies_let_in_only_the_gateway_from_outside(prod):
    gateway_labels = prod[("Deployment", "gateway")]["spec"]["template"]["metadata"]["labels"]
    for service in SERVICES:
        labels = prod[("Deployment", service)]["spec"]["template"]["metadata"]["labels"]
        peers = ingress_peers(prod, labels)
        assert peers, f"{service}: no ingress policy selects it (open to everyone)"
        for peer in (p for rule in peers for p in rule):
            if service == "gateway":
                assert "namespaceSelector" in peer  # the ingress controller's namespace
            else:
                assert set(peer) == {"podSelector"}
                assert peer["podSelector"]["matchLabels"].items() <= gateway_labels.items()
    egress_ports = {p["port"] for policy in of_kind(prod, "NetworkPolicy").values()
                    for rule in policy["spec"].get("egress", []) for p in rule["ports"]}
    assert {53, 5432, 9093, 4318, 8000} <= egress_ports


def test_every_referenced_secret_and_config_map_exists_or_is_documented(prod):
    readme = (K8S / "README.md").read_text(encoding="utf-8")
    made_by_operators = {"gxstat-pg-app", "gxstat-kafka-cluster-ca-cert",
                         *of_kind(prod, "KafkaUser")}
    for deployment in of_kind(prod, "Deployment").values():
        spec = pod_spec(deployment)
        for c in containers(deployment):
            for source in c.get("envFrom", []):
                assert ("ConfigMap", source["configMapRef"]["name"]) in prod
            for var in c.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["name"] not in made_by_operators:
                    assert ref["name"] in PROVINCE_SECRETS, ref
        for volume in spec["volumes"]:
            if "secret" in volume:
                assert volume["secret"]["secretName"] in made_by_operators
            if "configMap" in volume:
                assert ("ConfigMap", volume["configMap"]["name"]) in prod
    for name in PROVINCE_SECRETS:
        assert f"`{name}`" in readme, f"deploy/k8s/README.md does not say how to create {name}"
