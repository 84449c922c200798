"""Workflow service (审核流程): review cases for every kind of submission.

    python -m gx_workflow.main
"""
from __future__ import annotations

import asyncpg
from fastapi import FastAPI

from gx_kernel.consumer import Handler, InboundEvent
from gx_kernel.service import ConsumerSpec, ServiceRuntime, create_service_app, serve, supervise

from gx_workflow.adapters.pg_listener import PgListener
from gx_workflow.adapters.schema import MIGRATIONS, progress_channel, setup_schema
from gx_workflow.api.errors import install as install_errors
from gx_workflow.api.routes import router
from gx_workflow.application.deadlines import overdue_loop
from gx_workflow.application.intake import Inbound, handle, wants
from gx_workflow.application.live import LiveTiming, ProgressHub
from gx_workflow.application.state import WorkflowState
from gx_workflow.domain.chains import load_chain_file
from gx_workflow.settings import WorkflowSettings


def intake(rt: ServiceRuntime) -> Handler:
    """The consumer's handler, bound to the runtime (its store and chain profile)."""
    async def handle_event(conn: asyncpg.Connection, event: InboundEvent) -> None:
        await handle(Inbound(rt.store, conn, rt.settings.chain_profile), event)
    return handle_event


def live_progress(rt: ServiceRuntime, settings: WorkflowSettings) -> tuple[ProgressHub,
                                                                           PgListener]:
    """The progress hub of this process and its own LISTEN connection (see application/live)."""
    hub = ProgressHub(LiveTiming(min_push_interval=settings.progress_push_interval,
                                 poll_interval=settings.progress_poll_interval,
                                 keepalive=settings.progress_keepalive))
    listener = PgListener(settings.database_url, progress_channel(settings.schema),
                          on_notify=hub.notify, on_connect=hub.wake_all,
                          check_interval=settings.progress_listener_check)
    return hub, listener


def create_app(settings: WorkflowSettings | None = None) -> FastAPI:
    settings = settings or WorkflowSettings()
    chains = load_chain_file(settings.chains_file)

    async def on_setup(rt: ServiceRuntime) -> None:
        async with rt.pool.acquire() as conn:
            await setup_schema(conn, settings.schema, chains)
        hub, listener = live_progress(rt, settings)
        rt.state = WorkflowState(chains=chains, progress_hub=hub, progress_listener=listener)
        rt.tasks.append(supervise("overdue", lambda: overdue_loop(rt.store,
                                                                  settings.overdue_interval)))
        rt.tasks.append(supervise("progress listener", listener.run))

    app = create_service_app(
        settings, title="gxstat workflow 审核流程", routers=[router],
        consumers=[ConsumerSpec("intake", topics=list(settings.source_topics), make_handler=intake,
                                wants=wants)],
        on_setup=on_setup, migrations=[MIGRATIONS])
    install_errors(app)
    return app


if __name__ == "__main__":
    _settings = WorkflowSettings()
    serve(create_app(_settings), _settings)
