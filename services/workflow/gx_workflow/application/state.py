"""The workflow service's per-process singletons (运行状态), set once in `on_setup`."""
from __future__ import annotations

from dataclasses import dataclass

from gx_kernel.service import ServiceRuntime

from gx_workflow.adapters.pg_listener import PgListener
from gx_workflow.application.live import ProgressHub
from gx_workflow.domain.chains import ChainConfig


@dataclass
class WorkflowState:
    chains: list[ChainConfig]  # the review chains this process loaded
    progress_hub: ProgressHub  # live progress pushes of this process
    progress_listener: PgListener  # its own LISTEN connection feeding the hub


def state(rt: ServiceRuntime) -> WorkflowState:
    return rt.typed_state(WorkflowState)
