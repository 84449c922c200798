"""The local infrastructure answers: PostgreSQL runs SQL, the broker round-trips a message."""
import uuid

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic


async def test_postgres_answers(infra):
    conn = await asyncpg.connect(infra.database_url)
    try:
        assert await conn.fetchval("SELECT 1") == 1
        assert await conn.fetchval("SELECT current_database()") == "gxstat"
        if not infra.db_external:  # five services + tests need more than the default 100
            assert int(await conn.fetchval("SHOW max_connections")) >= 300
    finally:
        await conn.close()


async def test_broker_round_trips_a_message(infra):
    topic = f"deploy-test-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()

    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"hello", key=b"k", headers=[("h", b"v")])
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=infra.kafka_bootstrap,
                                group_id=f"g-{topic}", auto_offset_reset="earliest")
    await consumer.start()
    try:
        record = await consumer.getone()
    finally:
        await consumer.stop()
    assert (record.key, record.value, list(record.headers)) == (b"k", b"hello", [("h", b"v")])
