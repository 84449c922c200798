"""Wire format of events on Kafka (for every producer and subscriber).

CloudEvents 1.0, Kafka protocol binding, *binary* content mode:

- topic: ``<domain>.events`` (``agri.events``, ``workflow.events``, ``registry.events``,
  ``population.events``, ``organisation.events``); records that a consumer cannot process go
  to ``<topic>.dlq``. Internal, never granted to subscribers: ``gateway.events`` (the
  gateway's audit trail) and every ``<topic>.dlq``.
- key: the stream id (``report-<uuid>``, ``case-<uuid>`` …), UTF-8. The producer uses the default
  partitioner of aiokafka — murmur2 of the key, same as the Java client — so all events of one
  stream land in one partition, in order.
- headers (UTF-8 values): ``ce_id`` event id, ``ce_type`` event type, ``ce_source``
  ``/gxstat/<service>``, ``ce_specversion`` ``1.0``, ``ce_time`` RFC 3339, ``ce_subject`` stream id,
  ``ce_dataschemaversion`` = ``schema_version`` of ``data``, ``content-type``
  ``application/json`` (the list is ``HEADERS``), and ``traceparent`` W3C trace context when
  the causing request had one.
- value: a JSON object, ``KafkaEnvelope`` (it repeats the CloudEvents attributes so the value is
  self-contained): ``{id, type, schema_version, stream_id, version, data, metadata, time}``.
  ``data`` validates against ``contracts/schemas/events/<type>.v<schema_version>.json``.

Subscribers deduplicate by ``id`` (delivery is at least once) and order by ``version`` per stream.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .events.base import EventMetadata

__all__ = [
    "CE_ID",
    "CE_TYPE",
    "CE_SOURCE",
    "CE_SPECVERSION",
    "CE_TIME",
    "CE_SUBJECT",
    "CE_DATASCHEMAVERSION",
    "CONTENT_TYPE",
    "TRACEPARENT",
    "SPECVERSION",
    "JSON_CONTENT_TYPE",
    "DLQ_ERROR",
    "DLQ_ORIGINAL_TOPIC",
    "DLQ_ORIGINAL_PARTITION",
    "DLQ_ORIGINAL_OFFSET",
    "DLQ_CONSUMER_GROUP",
    "DLQ_ATTEMPTS",
    "DLQ_ERROR_KIND",
    "DLQ_ERROR_TYPE",
    "DOMAIN_TOPICS",
    "INTERNAL_TOPICS",
    "KafkaEnvelope",
    "source_for",
    "topic_for",
    "dlq_topic",
    "HEADERS",
]

CE_ID = "ce_id"
CE_TYPE = "ce_type"
CE_SOURCE = "ce_source"
CE_SPECVERSION = "ce_specversion"
CE_TIME = "ce_time"
CE_SUBJECT = "ce_subject"
CE_DATASCHEMAVERSION = "ce_dataschemaversion"  # = value.schema_version (data's schema version)
CONTENT_TYPE = "content-type"
TRACEPARENT = "traceparent"
SPECVERSION = "1.0"
JSON_CONTENT_TYPE = "application/json"

# Extra headers on records in a ``<topic>.dlq`` (value and other headers copied unchanged).
DLQ_ERROR = "x-gx-error"
DLQ_ORIGINAL_TOPIC = "x-gx-original-topic"
DLQ_ORIGINAL_PARTITION = "x-gx-original-partition"
DLQ_ORIGINAL_OFFSET = "x-gx-original-offset"
DLQ_CONSUMER_GROUP = "x-gx-consumer-group"
DLQ_ATTEMPTS = "x-gx-attempts"
DLQ_ERROR_KIND = "x-gx-error-kind"  # transient (tries used up) or permanent
DLQ_ERROR_TYPE = "x-gx-error-type"  # the exception's qualified class name

DOMAIN_TOPICS = ("agri.events", "workflow.events", "registry.events", "population.events",
                 "organisation.events")
INTERNAL_TOPICS = ("gateway.events",)  # the gateway's audit trail: never granted to subscribers


class KafkaEnvelope(BaseModel):
    """Kafka 消息体：one stored event."""

    model_config = ConfigDict(extra="ignore")

    id: UUID = Field(description="事件ID（全局唯一，去重用）")
    type: str = Field(description="事件类型 <domain>.<aggregate>.<past-tense-verb>")
    schema_version: int = Field(ge=1, description="data 的模式版本")
    stream_id: str = Field(description="事件流ID，如 report-<uuid>；也是 Kafka key")
    version: int = Field(ge=1, description="该事件在事件流中的版本号（从1起，连续）")
    data: dict[str, Any] = Field(description="事件内容，模式见 schemas/events/<type>.v<N>.json")
    metadata: EventMetadata = Field(default_factory=EventMetadata, description="元数据")
    time: AwareDatetime = Field(description="事件记录时间（RFC 3339）")


def source_for(service: str) -> str:
    """CloudEvents ``source`` of a service: ``/gxstat/<service>``."""
    return f"/gxstat/{service}"


def topic_for(event_type: str) -> str:
    """Topic of an event type: ``<domain>.events``."""
    return f"{event_type.split('.', 1)[0]}.events"


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


# Every message carries these headers; the kernel's encoder (gx_kernel.kafka.encode) writes
# them, and tests/contracts checks it against this list.
HEADERS = (CE_ID, CE_TYPE, CE_SOURCE, CE_SPECVERSION, CE_TIME, CE_SUBJECT, CE_DATASCHEMAVERSION,
           CONTENT_TYPE)
