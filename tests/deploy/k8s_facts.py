"""What tests/deploy/test_k8s*.py share: where things are, the rendered production overlay
read as a service would see it, and each service's wiring taken from its own create_app."""
from __future__ import annotations

import importlib
from pathlib import Path

from fastapi import FastAPI

from gx_kernel.kafka import KafkaSecurity
from gx_kernel.settings import ServiceSettings

from .k8s_render import pod_spec

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUSTOMIZATIONS = [K8S / "base", K8S / "overlays" / "guangxi-prod"]
SERVICES = ["registry", "agri", "population", "organisation", "workflow", "gateway"]
# How every Kafka client of a service connects (SASL/SCRAM over TLS in deploy/k8s): read by
# the kernel's own settings class beside the service's, gx_kernel.kafka.KafkaSecurity.
KAFKA_SETTINGS = {f.alias for f in KafkaSecurity.model_fields.values() if f.alias}


def of_kind(docs, kind: str) -> dict[str, dict]:
    if isinstance(docs, dict):
        docs = docs.values()
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"gx_{service}.settings")
    classes = [v for v in vars(module).values() if isinstance(v, type)
               and issubclass(v, ServiceSettings) and v is not ServiceSettings]
    assert len(classes) == 1, classes
    return classes[0]


def aliases(cls: type[ServiceSettings]) -> set[str]:
    return {f.alias for f in cls.model_fields.values() if f.alias}


def container_env(docs: dict, container: dict) -> dict[str, str]:
    """The environment a container gets; Secret values are placeholders."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(docs[("ConfigMap", source["configMapRef"]["name"])]["data"])
    for var in container.get("env", []):
        env[var["name"]] = var.get("value", "from-a-secret")
    return env


def wiring(service: str, env: dict[str, str], monkeypatch):
    """(settings, consumer specs) the service's create_app builds from this environment."""
    cls = settings_class(service)
    for name in aliases(cls):
        monkeypatch.delenv(name, raising=False)
    main = importlib.import_module(f"gx_{service}.main")
    seen: dict = {}

    def capture(settings, **kwargs):
        seen.update(settings=settings, consumers=list(kwargs.get("consumers", ())))
        return FastAPI()

    monkeypatch.setattr(main, "create_service_app", capture)
    main.create_app(cls(**{k: v for k, v in env.items() if k in aliases(cls)}))
    return seen["settings"], seen["consumers"]


def service_container(prod, service: str) -> dict:
    spec = pod_spec(prod[("Deployment", service)])
    return next(c for c in spec["containers"] if c["name"] == service)
