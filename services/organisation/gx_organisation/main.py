"""Entrypoint of the organisation service (统计工作组织): `python -m gx_organisation.main`.

Offices and people, the reform (桂统字〔2019〕52号), progress reports, subsidies, training and
the standardisation assessment; progress reports follow the review chain (workflow.events).
"""
from __future__ import annotations

from fastapi import FastAPI

from gx_kernel.service import ConsumerSpec, ServiceRuntime, create_service_app, serve

from gx_organisation.adapters import schema
from gx_organisation.api.routes import routers
from gx_organisation.application.consumer import accepts, make_handler, wants
from gx_organisation.settings import OrganisationSettings


def create_app(settings: OrganisationSettings | None = None) -> FastAPI:
    settings = settings or OrganisationSettings()

    async def on_setup(rt: ServiceRuntime) -> None:
        await schema.setup(rt.pool, settings.schema)

    consumer = ConsumerSpec("workflow", ["workflow.events"], make_handler=make_handler,
                            wants=wants, accepts=accepts, follower=True)
    return create_service_app(settings, title="gxstat organisation 统计工作组织", routers=routers,
                              consumers=[consumer], on_setup=on_setup)


if __name__ == "__main__":
    _settings = OrganisationSettings()
    serve(create_app(_settings), _settings)
