"""Settings of the agri service."""
from __future__ import annotations

from pydantic import Field

from gx_kernel.settings import ServiceSettings


class AgriSettings(ServiceSettings):
    service_name: str = Field("agri", alias="GX_SERVICE_NAME")
