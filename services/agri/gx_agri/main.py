"""Entrypoint of the agri service (农业统计): `python -m gx_agri.main`."""
from __future__ import annotations

from fastapi import FastAPI

from gx_kernel.service import ConsumerSpec, ServiceRuntime, create_service_app, serve

from gx_agri.adapters import schema
from gx_agri.api import errors
from gx_agri.api.routes import router
from gx_agri.application.consumer import accepts, make_handler, wants
from gx_agri.settings import AgriSettings


def create_app(settings: AgriSettings | None = None) -> FastAPI:
    settings = settings or AgriSettings()

    async def on_setup(rt: ServiceRuntime) -> None:
        await schema.setup(rt.pool, settings.schema)

    # Agri keeps no singletons of its own (no `rt.state`); its handler needs only the runtime.
    consumer = ConsumerSpec("workflow", ["workflow.events"], wants=wants, accepts=accepts,
                            make_handler=lambda rt: make_handler(lambda: rt))
    app = create_service_app(settings, title="gxstat agri 农业统计", routers=[router],
                             consumers=[consumer], on_setup=on_setup)
    errors.install(app)
    return app


if __name__ == "__main__":
    _settings = AgriSettings()
    serve(create_app(_settings), _settings)
