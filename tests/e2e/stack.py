"""The whole system in one process: six services on real ports, real PostgreSQL and broker.

Each run gets its own schemas and topic prefix, so it never meets another run's data.
"""
from __future__ import annotations

import base64
import contextlib
import os
from dataclasses import dataclass

import httpx

from gx_contracts.roles import DEMO_PASSWORD

from gx_agri.main import create_app as agri_app
from gx_agri.settings import AgriSettings
from gx_gateway.main import create_app as gateway_app
from gx_gateway.settings import GatewaySettings
from gx_organisation.main import create_app as organisation_app
from gx_organisation.settings import OrganisationSettings
from gx_population.main import create_app as population_app
from gx_population.settings import PopulationSettings
from gx_registry.main import create_app as registry_app
from gx_registry.settings import RegistrySettings
from gx_workflow.main import create_app as workflow_app
from gx_workflow.settings import WorkflowSettings

from ..harness import reserve_socket, serving, unique_prefix

SERVICES = {"registry": (registry_app, RegistrySettings), "agri": (agri_app, AgriSettings),
            "population": (population_app, PopulationSettings),
            "organisation": (organisation_app, OrganisationSettings),
            "workflow": (workflow_app, WorkflowSettings)}


@dataclass
class Stack:
    prefix: str
    gateway_url: str
    urls: dict[str, str]
    kafka_bootstrap: str
    database_url: str
    internal_secret: str

    def topic(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def schema(self, service: str) -> str:
        return f"{self.prefix}_{service}"

    async def login(self, client: httpx.AsyncClient, username: str) -> dict[str, str]:
        r = await client.post("/api/v1/auth/login",
                              json={"username": username, "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _common(infra, prefix: str, secret: str) -> dict:
    return {"DATABASE_URL": infra.database_url, "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
            "GX_TOPIC_PREFIX": f"{prefix}.", "GX_INTERNAL_SECRET": secret}


@contextlib.asynccontextmanager
async def running_stack(infra, gateway_overrides: dict | None = None):
    """`gateway_overrides`: extra GatewaySettings fields by alias, e.g.
    `{"GX_DEVICE_REQUIRED": True}`; they win over the defaults below."""
    prefix, secret = unique_prefix(), f"secret-{unique_prefix()}"
    common = _common(infra, prefix, secret)
    async with contextlib.AsyncExitStack() as stack:
        ports = {name: reserve_socket() for name in SERVICES}  # held: no one takes them meanwhile
        for sock in ports.values():
            stack.callback(sock.close)  # also when a service fails to start
        urls = {name: f"http://127.0.0.1:{sock.getsockname()[1]}" for name, sock in ports.items()}
        for name, (factory, settings_cls) in SERVICES.items():
            own = {"GX_POPULATION_MASTER_KEY": os.environ.get("GX_POPULATION_MASTER_KEY")
                   or base64.b64encode(os.urandom(32)).decode()} if name == "population" else {}
            settings = settings_cls(GX_DB_SCHEMA=f"{prefix}_{name}", **common, **own)
            await stack.enter_async_context(serving(factory(settings), ports[name]))
        gateway = GatewaySettings(**{
            "GX_DB_SCHEMA": f"{prefix}_gateway", "GX_DEMO": True, "GX_ARGON2_MEMORY_KIB": 1024,
            "GX_RATE_USER_PER_SEC": 1000, "GX_RATE_USER_BURST": 1000,
            **{f"GX_{n.upper()}_URL": u for n, u in urls.items()}, **common,
            **(gateway_overrides or {})})
        gateway_url = await stack.enter_async_context(serving(gateway_app(gateway)))
        yield Stack(prefix, gateway_url, urls, infra.kafka_bootstrap, infra.database_url, secret)
