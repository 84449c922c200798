"""Registry service (基本单位名录库, 附件2): department files in, matched and merged with the
register, task lists down to the grid. `python -m gx_registry.main`."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from gx_kernel.migrations import run_migrations
from gx_kernel.service import ConsumerSpec, ServiceRuntime, create_service_app, serve

from gx_registry.api.routes import router
from gx_registry.application import consumer, uploads
from gx_registry.application.state import RegistryState
from gx_registry.settings import RegistrySettings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    settings = settings or RegistrySettings()

    async def on_setup(rt: ServiceRuntime) -> None:
        await run_migrations(rt.pool, settings.schema, [MIGRATIONS], kernel=False)
        rt.state = RegistryState()
        await uploads.resume(rt)

    follow = ConsumerSpec("workflow", ["workflow.events"], make_handler=consumer.make_handler,
                          wants=consumer.wants, accepts=consumer.accepts, follower=True)
    return create_service_app(settings, title="gxstat registry 基本单位名录库", routers=[router],
                              consumers=[follow], on_setup=on_setup)


if __name__ == "__main__":
    _settings = RegistrySettings()
    serve(create_app(_settings), _settings)
