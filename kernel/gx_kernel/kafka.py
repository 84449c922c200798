"""Kafka plumbing: producer settings, topic creation, the CloudEvents binary-mode wire format."""
from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from gx_kernel.eventstore import StoredEvent

log = logging.getLogger(__name__)
CE_SPECVERSION = "1.0"


def make_producer(bootstrap: str, idempotent: bool) -> AIOKafkaProducer:
    # acks=all always; idempotence is a setting because the dev broker (Tansu) lacks it.
    return AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                            enable_idempotence=idempotent, linger_ms=2,
                            request_timeout_ms=10000, retry_backoff_ms=200)


async def ensure_topics(bootstrap: str, names: list[str], partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            try:
                await admin.create_topics([NewTopic(n, partitions, 1) for n in missing])
            except TopicAlreadyExistsError:
                pass  # another service created it first
    finally:
        await admin.close()


def encode(event: StoredEvent, source: str) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Key, value and CloudEvents 1.0 binary-mode headers for one stored event."""
    value = {"id": str(event.id), "type": event.type, "schema_version": event.schema_version,
             "stream_id": event.stream_id, "version": event.version, "data": event.data,
             "metadata": event.metadata, "time": event.recorded_at.isoformat()}
    headers = {"ce_id": str(event.id), "ce_type": event.type, "ce_source": source,
               "ce_specversion": CE_SPECVERSION, "ce_time": event.recorded_at.isoformat(),
               "ce_subject": event.stream_id, "ce_dataschemaversion": str(event.schema_version),
               "content-type": "application/json"}
    return (event.stream_id.encode(), json.dumps(value, ensure_ascii=False).encode(),
            [(k, v.encode()) for k, v in headers.items()])


@dataclass(frozen=True)
class InboundEvent:
    """An event as a consumer receives it from a topic."""

    id: uuid.UUID
    type: str
    stream_id: str
    version: int
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    time: datetime
    topic: str
    partition: int
    offset: int
    headers: dict[str, str]


def decode(record: Any) -> InboundEvent:
    """Parse a consumer record; raises ValueError on anything malformed (a poison message)."""
    headers = {k: (v.decode() if v is not None else "") for k, v in (record.headers or ())}
    try:
        body = json.loads(record.value)
        return InboundEvent(uuid.UUID(body["id"]), body["type"], body["stream_id"],
                            int(body["version"]), int(body.get("schema_version", 1)),
                            dict(body["data"]), dict(body.get("metadata") or {}),
                            datetime.fromisoformat(body["time"]), record.topic,
                            record.partition, record.offset, headers)
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"malformed event: {exc!r}") from exc
