"""Workflow service (审核流程): review cases for every kind of submission.

    python -m gx_workflow.main
"""
from __future__ import annotations

from fastapi import FastAPI

from gx_kernel.consumer import InboundEvent
from gx_kernel.service import ConsumerSpec, ServiceRuntime, create_service_app, serve, supervise

from gx_workflow.adapters.pg_listener import PgListener
from gx_workflow.adapters.schema import MIGRATIONS, progress_channel, setup_schema
from gx_workflow.api.errors import install as install_errors
from gx_workflow.api.routes import router
from gx_workflow.application.deadlines import overdue_loop
from gx_workflow.application.intake import Inbound, handle, wants
from gx_workflow.application.live import LiveTiming, ProgressHub
from gx_workflow.domain.chains import load_chain_file
from gx_workflow.settings import WorkflowSettings


class _Intake:
    """Consumer handler bound to the runtime once it exists (set in on_setup)."""

    def __init__(self) -> None:
        self.rt: ServiceRuntime | None = None

    async def __call__(self, conn, event: InboundEvent) -> None:
        assert self.rt is not None, "runtime not set up"
        await handle(Inbound(self.rt.store, conn, self.rt.settings.chain_profile), event)


def start_live_progress(rt: ServiceRuntime, settings: WorkflowSettings) -> None:
    """The progress hub of this process and its own LISTEN connection (see application/live)."""
    hub = ProgressHub(LiveTiming(min_push_interval=settings.progress_push_interval,
                                 poll_interval=settings.progress_poll_interval,
                                 keepalive=settings.progress_keepalive))
    listener = PgListener(settings.database_url, progress_channel(settings.schema),
                          on_notify=hub.notify, on_connect=hub.wake_all,
                          check_interval=settings.progress_listener_check)
    rt.state["progress_hub"], rt.state["progress_listener"] = hub, listener
    rt.tasks.append(supervise("progress listener", listener.run))


def create_app(settings: WorkflowSettings | None = None) -> FastAPI:
    settings = settings or WorkflowSettings()
    chains = load_chain_file(settings.chains_file)
    handler = _Intake()

    async def on_setup(rt: ServiceRuntime) -> None:
        async with rt.pool.acquire() as conn:
            await setup_schema(conn, settings.schema, chains)
        handler.rt = rt
        rt.state["chains"] = chains
        rt.tasks.append(supervise("overdue", lambda: overdue_loop(rt.store,
                                                                  settings.overdue_interval)))
        start_live_progress(rt, settings)

    app = create_service_app(
        settings, title="gxstat workflow 审核流程", routers=[router],
        consumers=[ConsumerSpec("intake", topics=list(settings.source_topics), handler=handler,
                                wants=wants)],
        on_setup=on_setup, migrations=[MIGRATIONS])
    install_errors(app)
    return app


if __name__ == "__main__":
    _settings = WorkflowSettings()
    serve(create_app(_settings), _settings)
