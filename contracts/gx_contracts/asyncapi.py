"""AsyncAPI 3.0 document of the event topics, generated with FastStream (``build_asyncapi``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from . import __version__
from .envelope import (
    CE_DATASCHEMAVERSION,
    CE_ID,
    CE_SOURCE,
    CE_SPECVERSION,
    CE_SUBJECT,
    CE_TIME,
    CE_TYPE,
    CONTENT_TYPE,
    DLQ_ATTEMPTS,
    DLQ_CONSUMER_GROUP,
    DLQ_ERROR,
    DLQ_ERROR_KIND,
    DLQ_ERROR_TYPE,
    DLQ_ORIGINAL_OFFSET,
    DLQ_ORIGINAL_PARTITION,
    DLQ_ORIGINAL_TOPIC,
    DOMAIN_TOPICS,
    HEADERS,
    JSON_CONTENT_TYPE,
    SPECVERSION,
    TRACEPARENT,
    KafkaEnvelope,
    dlq_topic,
    topic_for,
)
from .events import EVENT_TYPES

__all__ = ["build_asyncapi", "envelope_model"]

_DESCRIPTION = """\
Events of the gxstat platform (广西基层统计网格化服务管理平台), for other provincial systems.

Wire format: CloudEvents 1.0, Kafka binding, binary content mode.
- **Key**: the stream id (e.g. `report-<uuid>`, `case-<uuid>`), UTF-8.
- **Partitioner**: aiokafka's default — murmur2 hash of the key modulo partitions, the same as
  the Java client's default — so every event of one stream is in one partition, in order.
- **Headers**: `ce_id`, `ce_type`, `ce_source` (`/gxstat/<service>`), `ce_specversion` (`1.0`),
  `ce_time` (RFC 3339), `ce_subject` (stream id), `ce_dataschemaversion` (= `schema_version`),
  `content-type` (`application/json`), `traceparent`.
- **Value**: JSON envelope `{id, type, schema_version, stream_id, version, data, metadata, time}`;
  `data` is described per event type below and in `schemas/events/<type>.v<N>.json`.

Delivery is at least once: deduplicate by `id`; order per stream by `version`. Consumers ignore
unknown fields; a breaking change gets a new `schema_version`. Topic retention keeps history, so
subscribers may join late and replay from the beginning. Records a consumer cannot process are
copied to `<topic>.dlq` with the headers `x-gx-error`, `x-gx-original-topic`,
`x-gx-original-partition`, `x-gx-original-offset`, `x-gx-consumer-group`, `x-gx-attempts`.
"""

_TOPIC_DOC = {
    "agri.events": "农业统计：报表任务发布、草稿、提交、退回、验收。",
    "workflow.events": "审核流程：案卷建立、逐级审核通过、退回、重报、验收、重开、超期。",
    "registry.events": "基本单位名录库：单位入库、变更、迁出。",
    "population.events": "人口变动调查：住户调查表提交（不含个人信息）。",
}


def _str_header(description: str, const: str | None = None) -> dict[str, Any]:
    h: dict[str, Any] = {"type": "string", "description": description}
    if const is not None:
        h["const"] = const
    return h


def _headers(event_type: str | None) -> dict[str, Any]:
    props = {
        CE_ID: _str_header("事件ID (= value.id)"),
        CE_TYPE: _str_header("事件类型 (= value.type)", event_type),
        CE_SOURCE: _str_header("/gxstat/<service>"),
        CE_SPECVERSION: _str_header("CloudEvents 版本", SPECVERSION),
        CE_TIME: _str_header("RFC 3339 时间 (= value.time)"),
        CE_SUBJECT: _str_header("事件流ID (= key)"),
        CE_DATASCHEMAVERSION: _str_header("data 的模式版本 (= value.schema_version)"),
        CONTENT_TYPE: _str_header("内容类型", JSON_CONTENT_TYPE),
        TRACEPARENT: _str_header("W3C trace context"),
    }
    required = list(HEADERS)
    if event_type is None:
        for name, doc in (
            (DLQ_ERROR, "处理失败原因"),
            (DLQ_ORIGINAL_TOPIC, "原主题"),
            (DLQ_ORIGINAL_PARTITION, "原分区"),
            (DLQ_ORIGINAL_OFFSET, "原偏移量"),
            (DLQ_CONSUMER_GROUP, "失败的消费组"),
            (DLQ_ATTEMPTS, "已尝试次数"),
            (DLQ_ERROR_KIND, "失败类别：transient（重试用尽）或 permanent"),
            (DLQ_ERROR_TYPE, "异常类型"),
        ):
            props[name] = _str_header(doc)
    return {"type": "object", "properties": props, "required": required}


def envelope_model(event_type: str) -> type[BaseModel]:
    """``KafkaEnvelope`` with ``type``, ``schema_version`` and ``data`` fixed to one event type."""
    model, version = EVENT_TYPES[event_type]
    return create_model(
        f"{model.__name__}Envelope",
        __base__=KafkaEnvelope,
        __doc__=f"{event_type} v{version}: {(model.__doc__ or '').strip()}",
        type=(Literal[event_type], Field(description="事件类型")),  # type: ignore[valid-type]
        schema_version=(Literal[version], Field(description="data 的模式版本")),  # type: ignore[valid-type]
        data=(model, Field(description="事件内容")),
    )


def _faststream_spec() -> dict[str, Any]:
    from faststream.kafka import KafkaBroker
    from faststream.specification import AsyncAPI

    broker = KafkaBroker(
        "kafka:9092",
        description="Apache Kafka in production; Tansu (Kafka protocol) on laptops and in tests.",
    )
    for topic in DOMAIN_TOPICS:
        for event_type, (model, version) in EVENT_TYPES.items():
            if topic_for(event_type) == topic:
                broker.publisher(
                    topic,
                    title=event_type,
                    schema=envelope_model(event_type),
                    description=f"{_TOPIC_DOC[topic]} {event_type} v{version}: {(model.__doc__ or '').strip()}",
                )
        broker.publisher(
            dlq_topic(topic),
            title=dlq_topic(topic),
            schema=KafkaEnvelope,
            description=f"Dead letters of {topic}: the original key, value and headers, plus x-gx-* headers.",
        )
    spec = AsyncAPI(broker, title="gxstat events", version=__version__, description=_DESCRIPTION)
    return spec.to_specification().to_jsonable()


def build_asyncapi() -> dict[str, Any]:
    """The AsyncAPI document, one channel per topic with one message per event type.

    FastStream renders one channel per publisher (here: per event type); the channels of a topic
    are merged, and key, headers, correlation id and partitioner are added.
    """
    doc = _faststream_spec()
    old_messages = doc["components"]["messages"]
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    for channel_id, channel in doc["channels"].items():
        topic = channel["address"]
        dlq = topic.endswith(".dlq")
        name = topic if dlq else channel_id
        (ref,) = channel["messages"].values()
        msg = old_messages[ref["$ref"].rsplit("/", 1)[-1]]
        msg.update(
            name=name,
            title=name,
            summary=channel["description"],
            contentType=JSON_CONTENT_TYPE,
            headers=_headers(None if dlq else name),
            correlationId={"location": "$message.payload#/metadata/correlation_id"},
            bindings={
                "kafka": {
                    "key": {"type": "string", "description": "事件流ID (stream id), UTF-8"},
                    "bindingVersion": "0.4.0",
                }
            },
        )
        messages[name] = msg
        merged = channels.setdefault(
            topic,
            {
                "address": topic,
                "description": (
                    f"{_TOPIC_DOC.get(topic.removesuffix('.dlq'), '')} Key = stream id; "
                    "partitioner = murmur2 of the key (aiokafka default, as the Java client)."
                ).strip()
                if not dlq
                else channel["description"],
                "servers": channel["servers"],
                "messages": {},
                "bindings": channel["bindings"],
                "x-partitioner": "murmur2",
            },
        )
        merged["messages"][name] = {"$ref": f"#/components/messages/{name}"}
    for ch in channels.values():
        ch["messages"] = dict(sorted(ch["messages"].items()))
    doc["channels"] = dict(sorted(channels.items()))
    doc["operations"] = {
        f"publish.{topic}": {
            "action": "send",
            "channel": {"$ref": f"#/channels/{topic}"},
            "summary": f"gxstat publishes to {topic}; subscribers receive these messages.",
            "messages": [{"$ref": f"#/channels/{topic}/messages/{m}"} for m in ch["messages"]],
        }
        for topic, ch in doc["channels"].items()
    }
    doc["components"]["messages"] = dict(sorted(messages.items()))
    doc["components"]["schemas"] = dict(sorted(doc["components"]["schemas"].items()))
    return {"asyncapi": doc.pop("asyncapi"), **doc}
