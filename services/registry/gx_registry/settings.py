"""Settings of the registry service."""
from pydantic import Field

from gx_kernel.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    service_name: str = Field("registry", alias="GX_SERVICE_NAME")
    max_location_accuracy_m: float = Field(100.0, gt=0, le=100_000,
                                           alias="GX_REGISTRY_MAX_ACCURACY_M")
    """A location fix coarser than this (metres) is a warning that needs an explanation."""
