"""Agri suite: the service in-process on the real PostgreSQL and broker (root `infra`)."""
from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from agri_support import Agri

from gx_agri.main import create_app
from gx_agri.settings import AgriSettings


@pytest.fixture(scope="module")
async def agri(infra):
    tag = f"t{uuid.uuid4().hex[:8]}"
    settings = AgriSettings(GX_DB_SCHEMA=f"{tag}_agri", GX_TOPIC_PREFIX=f"{tag}.",
                            DATABASE_URL=infra.database_url,
                            KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap, GX_TOPIC_PARTITIONS=1)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agri") as client:
            consumer = app.state.runtime.consumers[0]
            await asyncio.wait_for(consumer.assigned.wait(), 30)
            yield Agri(app, client, settings)
