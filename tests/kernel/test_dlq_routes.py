"""A service replays its own consumers' dead letters on request (the ops console's replay,
issue 14 §5): role ops only, its own groups' letters only, applied once however often."""
import asyncio
from types import SimpleNamespace

import httpx
from fastapi import FastAPI

from gx_kernel import http
from gx_kernel.dlq_routes import router
from gx_kernel.eventstore import NewEvent
from gx_kernel.identity import PRINCIPAL_HEADER, Principal, sign_principal
from gx_kernel.kafka import ensure_topics
from gx_kernel.settings import ServiceSettings

from .test_consumer_contract import consumer_for, count_effects, effects_table, publish
from .test_dlq import effects_of, until

SECRET = "test-internal-secret"
URL = "/internal/dead-letters/replay"


def as_role(role: str) -> dict[str, str]:
    return {PRINCIPAL_HEADER: sign_principal(Principal("u1", "yunwei", role, "450000000000"),
                                             SECRET)}


async def test_the_service_replays_its_own_dead_letters_once(pool, schema, store, infra, prefix):
    # consumer_for names the group "<topic>-g": with service "src" it is one of src's groups
    topic = f"{prefix}src.events"
    await ensure_topics(infra.kafka_bootstrap, [topic], partitions=1)
    await ensure_topics(infra.kafka_bootstrap, [f"{topic}.dlq"], partitions=1)
    await effects_table(pool, schema)
    good, poison, sentinel = [e for i in range(3) for e in await store.append(
        f"s{i}", 0, [NewEvent("src.thing.happened", {"n": i})])]
    fixed = {"yes": False}

    async def handler(conn, event):
        await conn.execute(f"INSERT INTO {schema}.effects VALUES ($1, $2)", event.id,
                           event.data["n"])
        if event.data["n"] == 1 and not fixed["yes"]:
            raise RuntimeError("poison: n=1 not supported")

    settings = ServiceSettings(GX_SERVICE_NAME="src", GX_TOPIC_PREFIX=prefix, GX_DB_SCHEMA=schema,
                               DATABASE_URL=infra.database_url, GX_INTERNAL_SECRET=SECRET,
                               KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap)
    other = ServiceSettings(GX_SERVICE_NAME="elsewhere", GX_TOPIC_PREFIX=prefix,
                            GX_DB_SCHEMA=schema, DATABASE_URL=infra.database_url,
                            GX_INTERNAL_SECRET=SECRET, KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap)

    def app_of(s: ServiceSettings) -> httpx.AsyncClient:
        app = FastAPI()
        app.state.settings, app.state.runtime = s, SimpleNamespace(pool=pool, settings=s)
        http.install(app, s.service_name)
        app.include_router(router)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")

    consumer = consumer_for(pool, schema, infra, topic, handler)
    task = asyncio.create_task(consumer.run())
    try:
        await publish(infra, topic, store, [good, poison])

        async def settled():
            return consumer.processed >= 1 and consumer.dead_lettered >= 1
        await until(settled)
        fixed["yes"] = True
        body = {"dlq_topic": "src.events.dlq"}
        async with app_of(settings) as svc, app_of(other) as elsewhere:
            r = await svc.post(URL, json=body, headers=as_role("county_statistician"))
            assert r.status_code == 403 and r.json()["code"] == "ops_only"
            r = await svc.post(URL, json={"dlq_topic": "src.events"}, headers=as_role("ops"))
            assert r.status_code == 422  # only a dead-letter topic
            # another service leaves src's letters alone (it could not release src's rows)
            r = await elsewhere.post(URL, json=body, headers=as_role("ops"))
            assert r.status_code == 200 and r.json()["replayed"] == 0, r.text
            r = await svc.post(URL, json={**body, "event_ids": [str(good.id)]},
                               headers=as_role("ops"))
            assert r.json()["replayed"] == 0  # not a dead letter: nothing chosen
            r = await svc.post(URL, json=body, headers=as_role("ops"))
            assert r.status_code == 200 and r.json() == {
                "service": "src", "dlq_topic": "src.events.dlq", "replayed": 1}, r.text

            async def applied():
                return await effects_of(pool, schema, poison.id) >= 1
            await until(applied)
            # again: re-published, but the consumer's processed row keeps it to one effect
            r = await svc.post(URL, json={**body, "event_ids": [str(poison.id)]},
                               headers=as_role("ops"))
            assert r.json()["replayed"] == 1
        await publish(infra, topic, store, [sentinel])

        async def sentinel_applied():
            return await effects_of(pool, schema, sentinel.id) == 1
        await until(sentinel_applied)
        assert await effects_of(pool, schema, poison.id) == 1
        assert await count_effects(pool, schema) == 3  # good, poison once, sentinel
    finally:
        task.cancel()
