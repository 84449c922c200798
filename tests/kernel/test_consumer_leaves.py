"""A consumer stopped gracefully leaves its group at once, on Tansu too: the member started
next (the service restarted, another replica) gets the partitions without waiting out the
session timeout. Tansu numbers a group's first generation 0, and aiokafka left only from
generation 1 (Kafka's first): the next member waited ~18 s (found by tests/faults)."""
import asyncio
import time

from aiokafka import AIOKafkaConsumer

from gx_kernel.consumer import IdempotentConsumer, make_broker
from gx_kernel.kafka import ensure_topics


async def test_a_stopped_member_hands_its_partitions_over_at_once(infra, prefix):
    topic, bootstrap = f"{prefix}leave.events", infra.kafka_bootstrap
    group = f"{topic}-g"
    await ensure_topics(bootstrap, [topic])
    first = IdempotentConsumer(pool=None, schema="s", group_id=group, topics=[topic],
                               handler=None, bootstrap=bootstrap, producer_factory=None)
    broker = make_broker(bootstrap)
    first.subscribe(broker)
    await broker.start()
    try:
        await asyncio.wait_for(first.assigned.wait(), 30)
    finally:
        await broker.stop()
    nxt = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                           enable_auto_commit=False, session_timeout_ms=10_000)
    started = time.monotonic()
    await nxt.start()  # joins the group (waits for the first assignment)
    try:
        while len(nxt.assignment()) < 3 and time.monotonic() - started < 30:
            await nxt.getmany(timeout_ms=100)
        waited = time.monotonic() - started
        assert len(nxt.assignment()) == 3 and waited < 6.0, \
            f"the next member held {len(nxt.assignment())} of 3 partitions after " \
            f"{waited:.1f}s: the first had not left"
    finally:
        await nxt.stop()
