"""Workflow suite: one in-process workflow app per test module, own schema and topic prefix."""
from __future__ import annotations

import httpx
import pytest
from workflow_support import Workflow, make_settings

from gx_workflow.main import create_app


@pytest.fixture(scope="module")

async def wf(infra):
    settings = make_settings(infra, GX_WORKFLOW_OVERDUE_INTERVAL=0.2)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://workflow") as client:
            yield Workflow(settings, client, app.state.runtime)


@pytest.fixture(scope="module")
async def wf_strict(infra):
    """The same service with GX_WORKFLOW_CHAIN_PROFILE=strict (agri: township → county → region)."""
    settings = make_settings(infra, GX_WORKFLOW_OVERDUE_INTERVAL=0.2,
                             GX_WORKFLOW_CHAIN_PROFILE="strict")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://workflow") as client:
            yield Workflow(settings, client, app.state.runtime)
