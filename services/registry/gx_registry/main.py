"""Registry service (基本单位名录库): the business register of legal-person and activity units.

A skeleton for now: it starts, owns its schema and event store, relays `registry.events`
and answers health checks. Department data import, matching and field survey come later.
"""
from fastapi import FastAPI

from gx_kernel.service import create_service_app, serve
from gx_registry.settings import RegistrySettings


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    settings = settings or RegistrySettings()
    return create_service_app(settings, title="gxstat registry 基本单位名录库")


if __name__ == "__main__":
    _settings = RegistrySettings()
    serve(create_app(_settings), _settings)
