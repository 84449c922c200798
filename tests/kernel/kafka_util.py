"""Read a topic from the beginning with a plain aiokafka consumer."""
import json

from aiokafka import AIOKafkaConsumer


async def read_topic(bootstrap: str, topic: str, expect: int = 1, timeout_s: float = 20.0,
                     until=None) -> list:
    """Records from the beginning: at least `expect`, and (if given) until `until(records)`."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    records = []
    try:
        loops = int(timeout_s / 0.2)
        for _ in range(loops):
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                records += recs
            if len(records) >= expect and (until is None or until(records)):
                break
    finally:
        await consumer.stop()
    return records


def body(record) -> dict:
    return json.loads(record.value)
