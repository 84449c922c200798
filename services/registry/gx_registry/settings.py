"""Settings of the registry service."""
from pydantic import Field

from gx_kernel.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    service_name: str = Field("registry", alias="GX_SERVICE_NAME")
