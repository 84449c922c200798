"""Entrypoint of the population service (人口变动情况抽样调查, 附件4): `python -m gx_population.main`."""
from __future__ import annotations

import logging

from fastapi import FastAPI

from gx_kernel.service import ConsumerSpec, ServiceRuntime, create_service_app, serve

from gx_population.adapters import schema
from gx_population.api import survey_routes
from gx_population.api.routes import router
from gx_population.application.consumer import accepts, make_handler, wants
from gx_population.application.state import build_state
from gx_population.settings import PopulationSettings

log = logging.getLogger(__name__)


def create_app(settings: PopulationSettings | None = None) -> FastAPI:
    settings = settings or PopulationSettings()

    async def on_setup(rt: ServiceRuntime) -> None:
        await schema.setup(rt.pool, settings.schema)
        rt.state = build_state(settings)
        if rt.state.master is None:  # type: ignore[attr-defined]
            log.warning("GX_POPULATION_MASTER_KEY is not set: person records cannot be written "
                        "or read (503) until it is")

    consumer = ConsumerSpec("workflow", ["workflow.events"], wants=wants, accepts=accepts,
                            make_handler=make_handler, follower=True)
    return create_service_app(settings, title="gxstat population 人口变动调查", routers=[router, survey_routes.router],
                              consumers=[consumer], on_setup=on_setup)


if __name__ == "__main__":
    _settings = PopulationSettings()
    serve(create_app(_settings), _settings)
