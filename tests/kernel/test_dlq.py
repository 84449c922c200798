"""Dead letters on the real broker and database: listed with their error, replayed after a
fix and applied exactly once, however often they are replayed (library and CLI)."""
import asyncio
import os
import sys

from gx_kernel.dlq import list_dead_letters, replay
from gx_kernel.eventstore import NewEvent
from gx_kernel.kafka import ensure_topics

from .kafka_util import read_topic
from .test_consumer_contract import consumer_for, count_effects, effects_table, publish


async def effects_of(pool, schema, event_id) -> int:
    async with pool.acquire() as conn:
        return await conn.fetchval(
            f"SELECT count(*) FROM {schema}.effects WHERE event_id = $1", event_id)


async def until(predicate, timeout=20.0):
    for _ in range(int(timeout / 0.05)):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def cli(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gx_kernel.dlq", *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "COLUMNS": "200"})
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_a_dead_letter_is_listed_then_replayed_after_a_fix_exactly_once(
        pool, schema, store, infra, prefix):
    topic = f"{prefix}src.events"
    # One source partition: a sentinel sent after a replay is handled after the replayed one.
    await ensure_topics(infra.kafka_bootstrap, [topic], partitions=1)
    await ensure_topics(infra.kafka_bootstrap, [f"{topic}.dlq"], partitions=3)
    await effects_table(pool, schema)
    stored = [e for i in range(4) for e in await store.append(
        f"s{i}", 0, [NewEvent("src.thing.happened", {"n": i})])]
    good, poison, sentinels = stored[0], stored[1], stored[2:]
    fixed = {"yes": False}

    async def handler(conn, event):
        await conn.execute(f"INSERT INTO {schema}.effects VALUES ($1, $2)", event.id,
                           event.data["n"])
        if event.data["n"] == 1 and not fixed["yes"]:
            raise RuntimeError("poison: n=1 not supported")

    consumer = consumer_for(pool, schema, infra, topic, handler)
    task = asyncio.create_task(consumer.run())
    try:
        await publish(infra, topic, store, [good, poison], extra=[b"{not json"])

        async def settled():
            return consumer.processed >= 1 and consumer.dead_lettered >= 2
        await until(settled)

        letters = await list_dead_letters(infra.kafka_bootstrap, f"{topic}.dlq")
        assert len(letters) == 2
        [letter] = [d for d in letters if d.event_id == str(poison.id)]
        assert "poison: n=1 not supported" in letter.error
        assert (letter.kind, letter.error_type, letter.attempts) == (
            "permanent", "builtins.RuntimeError", 1)
        assert (letter.original_topic, letter.original_partition) == (topic, 0)
        assert letter.type == "src.thing.happened" and letter.consumer_group == f"{topic}-g"
        [malformed] = [d for d in letters if d.event_id is None]
        assert "malformed" in malformed.error
        assert len(await list_dead_letters(infra.kafka_bootstrap, f"{topic}.dlq", 1)) == 1

        table = await cli("--bootstrap", infra.kafka_bootstrap, "list", f"{topic}.dlq")
        assert str(poison.id) in table and "poison: n=1" in table

        fixed["yes"] = True
        sent = await replay(infra.kafka_bootstrap, f"{topic}.dlq", event_ids=[str(poison.id)],
                            pool=pool, schema=schema)
        assert sent == 1

        async def applied():
            return await effects_of(pool, schema, poison.id) >= 1
        await until(applied)
        replayed = (await read_topic(infra.kafka_bootstrap, topic, expect=4))[-1]
        assert replayed.key == b"s1"
        names = [k for k, _ in replayed.headers]
        assert "ce_id" in names and not any(k.startswith("x-gx-") for k in names)

        # Replayed again (all of them, from the CLI): the poison event has no second effect.
        out = await cli("--bootstrap", infra.kafka_bootstrap, "replay", f"{topic}.dlq",
                        "--database-url", infra.database_url, "--schema", schema)
        assert "已重放 2 条" in out
        await publish(infra, topic, store, [sentinels[0]])

        async def sentinel_applied():
            return await effects_of(pool, schema, sentinels[0].id) == 1
        await until(sentinel_applied)
        assert await effects_of(pool, schema, poison.id) == 1
        assert await count_effects(pool, schema) == 3  # good, poison once, sentinel
        async with pool.acquire() as conn:
            outcome = await conn.fetchval(
                f"SELECT outcome FROM {schema}.consumed_events WHERE event_id = $1", poison.id)
        assert outcome == "processed"
    finally:
        task.cancel()
