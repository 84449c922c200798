"""Offline rendering of deploy/k8s (the kustomize subset it uses) and CRD schemas that refuse
unknown fields. No kustomize binary, no cluster: tests/deploy/test_k8s.py cross-checks the
rendering against `kubectl kustomize` only where one happens to be installed."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

# Kinds without a namespace (kustomize's `namespace:` leaves them alone).
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PersistentVolume", "StorageClass", "PriorityClass", "IngressClass"}
# Built-in kinds merge lists of named items (containers, env, ports, volumes) by `name`, as
# strategic merge does; custom resources have no merge keys, their lists are replaced.
BUILTIN_GROUPS = ("v1", "apps/", "batch/", "policy/", "autoscaling/", "networking.k8s.io/")
KUSTOMIZATION_KEYS = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
POD_SPEC_PATHS = {"Deployment": ("spec", "template", "spec"),
                  "StatefulSet": ("spec", "template", "spec"),
                  "Job": ("spec", "template", "spec")}


LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the CRDs are large: libyaml if built


def load_docs(path: Path) -> list[dict]:
    return [d for d in yaml.load_all(path.read_text(encoding="utf-8"), Loader=LOADER) if d]


def key(doc: dict) -> tuple[str, str]:
    return doc["kind"], doc["metadata"]["name"]


def render(directory: Path) -> list[dict]:
    """The resources `kustomize build directory` produces, for the fields this repo uses."""
    k = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(k) - KUSTOMIZATION_KEYS
    if unknown:  # the real kustomize would do something here that this helper does not
        raise ValueError(f"{directory}: kustomization fields not supported offline: {unknown}")
    docs: list[dict] = []
    for entry in k.get("resources", []):
        target = (directory / entry).resolve()
        docs += render(target) if target.is_dir() else load_docs(target)
    seen: set[tuple[str, str]] = set()
    for doc in docs:
        if key(doc) in seen:
            raise ValueError(f"{directory}: {key(doc)} defined twice")
        seen.add(key(doc))
    for patch in k.get("patches", []):
        for p in (load_docs(directory / patch["path"]) if "path" in patch
                  else [yaml.safe_load(patch["patch"])]):
            matches = [d for d in docs if key(d) == key(p)]
            if len(matches) != 1:
                raise ValueError(f"{directory}: patch {key(p)} matches {len(matches)} resources")
            merged = merge(matches[0], p, builtin=p["apiVersion"].startswith(BUILTIN_GROUPS))
            matches[0].clear()
            matches[0].update(merged)
    for image in k.get("images", []):
        used = [c for d in docs for c in containers(d)
                if image_name(c["image"]) == image["name"]]
        for c in used:
            c["image"] = (image.get("newName", image["name"])
                          + (f":{image['newTag']}" if "newTag" in image else ""))
    if "namespace" in k:
        for doc in docs:
            if doc["kind"] not in CLUSTER_SCOPED:
                doc["metadata"]["namespace"] = k["namespace"]
    return docs


def merge(base: Any, patch: Any, *, builtin: bool) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for name, value in patch.items():
            out[name] = merge(base[name], value, builtin=builtin) if name in base else value
        return out
    if (builtin and isinstance(base, list) and isinstance(patch, list)
            and all(isinstance(i, dict) and "name" in i for i in base + patch)):
        out = copy.deepcopy(base)
        by_name = {item["name"]: n for n, item in enumerate(out)}
        for item in patch:
            if item["name"] in by_name:
                n = by_name[item["name"]]
                out[n] = merge(out[n], item, builtin=builtin)
            else:
                out.append(item)
        return out
    return copy.deepcopy(patch)


def pod_spec(doc: dict) -> dict | None:
    path = POD_SPEC_PATHS.get(doc["kind"])
    if path is None:
        return None
    spec = doc
    for part in path:
        spec = spec[part]
    return spec


def containers(doc: dict) -> list[dict]:
    spec = pod_spec(doc)
    return [] if spec is None else spec.get("initContainers", []) + spec["containers"]


def image_name(image: str) -> str:
    """`registry/name:tag@digest` -> `registry/name` (a registry port's colon stays)."""
    image = image.split("@", 1)[0]
    head, _, tail = image.rpartition(":")
    return head if head and "/" not in tail else image


# ---- custom resources --------------------------------------------------------------------

def crd_schemas(crd_dir: Path) -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> the served version's openAPIV3Schema, hardened (see `strict`)."""
    out = {}
    for path in sorted(crd_dir.glob("*.yaml")):
        for crd in load_docs(path):
            if crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if version.get("served"):
                    out[(f"{group}/{version['name']}", kind)] = strict(
                        version["schema"]["openAPIV3Schema"])
    return out


def strict(schema: Any) -> Any:
    """A copy that refuses unknown fields: `additionalProperties: false` wherever an object
    lists its properties, sets no additionalProperties and does not preserve unknown fields."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: (strict(v) if k not in ("enum", "default", "example", "required") else v)
           for k, v in schema.items()}
    if "properties" in schema:
        out["properties"] = {name: strict(s) for name, s in schema["properties"].items()}
        if (schema.get("type") == "object" and "additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")):
            out["additionalProperties"] = False
    return out
