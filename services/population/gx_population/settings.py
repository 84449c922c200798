"""Settings of the population service."""
from pydantic import Field

from gx_kernel.settings import ServiceSettings


class PopulationSettings(ServiceSettings):
    service_name: str = Field("population", alias="GX_SERVICE_NAME")
