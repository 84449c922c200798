"""Settings of the organisation service (统计工作组织)."""
from __future__ import annotations

from pydantic import Field

from gx_kernel.settings import ServiceSettings


class OrganisationSettings(ServiceSettings):
    service_name: str = Field("organisation", alias="GX_SERVICE_NAME")
