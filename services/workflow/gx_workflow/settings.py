"""Settings of the workflow service (environment; tests pass them explicitly)."""
from __future__ import annotations

from pydantic import Field

from gx_kernel.settings import ServiceSettings


class WorkflowSettings(ServiceSettings):
    service_name: str = Field("workflow", alias="GX_SERVICE_NAME")
    # Domain topics whose `*.submitted` events (with a `submission` object) open review cases.
    source_topics: list[str] = Field(["agri.events", "registry.events", "population.events",
                                      "organisation.events"],
                                     alias="GX_WORKFLOW_SOURCE_TOPICS")
    # Seconds between scans for overdue cases.
    overdue_interval: float = Field(30.0, alias="GX_WORKFLOW_OVERDUE_INTERVAL")
    # Seed file of chain configurations (default: the packaged chains.json).
    chains_file: str | None = Field(None, alias="GX_WORKFLOW_CHAINS_FILE")
    # Which configuration set of chains.json new cases follow: "standard" (agri: 附件3 —
    # township 数据验收, county/city watch and may return, region 审核确认) or "strict"
    # (agri: township -> county -> region, acceptance only at the region). A kind without a
    # chain in the chosen profile uses its "standard" one.
    chain_profile: str = Field("standard", alias="GX_WORKFLOW_CHAIN_PROFILE",
                               pattern=r"^[a-z][a-z0-9_]{0,31}$")
    # Live progress (SSE): at most one push per stream per this many seconds (bursts coalesce),
    # re-check without a notification this often, keep-alive comment this often, and how often
    # the LISTEN connection is probed (a dead one is reconnected).
    progress_push_interval: float = Field(0.2, alias="GX_WORKFLOW_PROGRESS_PUSH_INTERVAL")
    progress_poll_interval: float = Field(5.0, alias="GX_WORKFLOW_PROGRESS_POLL_INTERVAL")
    progress_keepalive: float = Field(15.0, alias="GX_WORKFLOW_PROGRESS_KEEPALIVE")
    progress_listener_check: float = Field(5.0, alias="GX_WORKFLOW_PROGRESS_LISTENER_CHECK")
