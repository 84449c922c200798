"""Settings of the population service."""
from pydantic import Field

from gx_kernel.settings import ServiceSettings


class PopulationSettings(ServiceSettings):
    service_name: str = Field("population", alias="GX_SERVICE_NAME")
    # Crypto-shredding master key (base64 of 32 bytes); without it the service starts, but every
    # command or read that touches a person's identifying fields answers 503.
    master_key: str | None = Field(None, alias="GX_POPULATION_MASTER_KEY", repr=False)
    master_key_version: str = Field("1", alias="GX_POPULATION_MASTER_KEY_VERSION")
    old_master_keys: str | None = Field(None, alias="GX_POPULATION_OLD_MASTER_KEYS", repr=False)
    survey_year: int = Field(2026, alias="GX_POPULATION_SURVEY_YEAR", ge=2020, le=2100)
    # 复查: a registered figure may differ from the administrative one by this fraction
    recheck_tolerance: float = Field(0.02, alias="GX_POPULATION_RECHECK_TOLERANCE", ge=0, le=1)
    # 小区图: the largest sketch accepted (bytes); keep it below the edges' GX_MAX_BODY_BYTES
    map_max_bytes: int = Field(1_000_000, alias="GX_POPULATION_MAP_MAX_BYTES", ge=1024,
                               le=10 * 1024 * 1024)
    # 回读确认: how far the phone's confirmation time may run ahead of the server's clock
    readback_clock_skew: int = Field(300, alias="GX_POPULATION_READBACK_CLOCK_SKEW", ge=0,
                                     le=3600)
