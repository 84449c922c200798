"""Read-only access to the published contract files (contracts/schemas, contracts/asyncapi.yaml)."""
from __future__ import annotations

from pathlib import Path

from gx_contracts.export import contracts_dir

from gx_gateway.settings import GatewaySettings


def root(settings: GatewaySettings) -> Path:
    return Path(settings.contracts_dir) if settings.contracts_dir else contracts_dir()


def asyncapi_file(settings: GatewaySettings) -> Path:
    return root(settings) / "asyncapi.yaml"


def schema_file(settings: GatewaySettings, relative: str) -> Path | None:
    """contracts/schemas/<relative> if it is a JSON file inside that folder, else None
    (no `..`, no absolute paths, no symlinks out)."""
    base = (root(settings) / "schemas").resolve()
    if not relative.endswith(".json") or "\\" in relative or "\x00" in relative:
        return None
    target = (base / relative).resolve()
    if base not in target.parents or not target.is_file():
        return None
    return target


def event_schema_names(settings: GatewaySettings) -> list[str]:
    folder = root(settings) / "schemas" / "events"
    return sorted(p.name for p in folder.glob("*.json")) if folder.is_dir() else []
