"""Population service (人口变动情况抽样调查): ledgers, sample areas, household forms.

A skeleton for now: it starts, owns its schema and event store, relays `population.events`
and answers health checks. Personal data handling comes with its features.
"""
from fastapi import FastAPI

from gx_kernel.service import create_service_app, serve
from gx_population.settings import PopulationSettings


def create_app(settings: PopulationSettings | None = None) -> FastAPI:
    settings = settings or PopulationSettings()
    return create_service_app(settings, title="gxstat population 人口变动调查")


if __name__ == "__main__":
    _settings = PopulationSettings()
    serve(create_app(_settings), _settings)
