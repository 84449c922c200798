"""AsyncAPI 3.0 document of the event topics, generated with FastStream (``build_asyncapi``).

Generated from what the services really run: each installed service's app is made (not
started) and its wiring read (``gx_kernel.service.installed_wirings``): the subscribers of its
consumer groups are declared on one FastStream broker by the very code that declares them in
the running service (``Subscription.declare``), with the dead-letter topics they write; the
relay's topic ``<service>.events`` gets one publisher per event type of that domain
(``EVENT_TYPES``). A new service, consumer group or event type appears here without being
listed; ``tests/contracts/test_export.py`` fails while ``contracts/asyncapi.yaml`` lags behind.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
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
    HEADERS,
    INTERNAL_TOPICS,
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
`x-gx-original-partition`, `x-gx-original-offset`, `x-gx-consumer-group`, `x-gx-attempts`,
`x-gx-error-kind`, `x-gx-error-type`.

The `receive` operations are the platform's own consumer groups (Kafka binding `groupId`): they
acknowledge a record only after its effects are committed.

Channels marked `x-internal: true` (`gateway.events`, the gateway's audit trail, and every
`<topic>.dlq`) are the platform's own: described here with their schemas, never granted to a
subscriber, and closed to subscribers by the deployment's ACLs.
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


def _topic_doc(topic: str) -> str:
    """The topic's line above, or the first line of its events module's docstring."""
    if topic in _TOPIC_DOC:
        return _TOPIC_DOC[topic]
    domain = topic.removesuffix(".events")
    try:
        module = importlib.import_module(f"{__package__}.events.{domain}")
    except ImportError:
        return ""
    return (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""


def _types_of(topic: str) -> list[str]:
    return sorted(t for t in EVENT_TYPES if topic_for(t) == topic)


async def _described(body: Any) -> None:
    """Stands for a consumer's handler: the document needs the declaration, not the code."""


def _wirings() -> list[Any]:
    from gx_kernel.service import installed_wirings  # the export tool reads the services

    return installed_wirings()


def _faststream_spec(wirings: Sequence[Any]) -> tuple[dict[str, Any], dict[str, list[str]],
                                                       dict[str, str], list[Any]]:
    """FastStream's rendering of every subscriber and publisher, plus who publishes what
    (topic -> services), DLQ topics -> the topic they hold, and the subscriptions."""
    from faststream.kafka import KafkaBroker
    from faststream.specification import AsyncAPI

    broker = KafkaBroker(
        "kafka:9092",
        description="Apache Kafka in production; Tansu (Kafka protocol) on laptops and in tests.",
    )
    publishers: dict[str, list[str]] = {}
    dead_letters: dict[str, str] = {}
    subscriptions = []
    for wiring in wirings:
        if wiring.publishes and _types_of(wiring.publishes):  # no contract types: internal
            publishers.setdefault(wiring.publishes, []).append(wiring.service)
        for sub in wiring.subscriptions:
            sub.declare(broker, _described)  # as the service declares it (+ its DLQ publishers)
            subscriptions.append(sub)
            dead_letters.update({dlq_topic(t): t for t in sub.topics})
    consumed = {t for sub in subscriptions for t in sub.topics}
    for topic in sorted(set(publishers) | consumed):
        for event_type in _types_of(topic):
            model, version = EVENT_TYPES[event_type]
            broker.publisher(
                topic,
                title=event_type,
                schema=envelope_model(event_type),
                description=f"{_topic_doc(topic)} {event_type} v{version}: {(model.__doc__ or '').strip()}".strip(),
            )
    spec = AsyncAPI(broker, title="gxstat events", version=__version__, description=_DESCRIPTION)
    return spec.to_specification().to_jsonable(), publishers, dead_letters, subscriptions


def _message(msg: dict[str, Any], name: str, summary: str, dlq: bool) -> dict[str, Any]:
    msg = {k: v for k, v in msg.items() if k != "correlationId"}
    msg.update(
        name=name,
        title=name,
        summary=summary,
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
    return msg


def _envelope_schemas() -> dict[str, Any]:
    schema = KafkaEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return {**defs, "KafkaEnvelope": schema}


def build_asyncapi(wirings: Sequence[Any] | None = None) -> dict[str, Any]:
    """The AsyncAPI document: one channel per topic with one message per event type, a
    ``send`` operation per topic the platform writes (relay or dead letters) and a
    ``receive`` operation per consumer group and topic.

    ``wirings``: ``gx_kernel.service.Wiring`` of each service (default: every installed one).
    FastStream renders one channel per publisher or subscriber; the channels of a topic are
    merged, and key, headers, correlation id and partitioner are added.
    """
    doc, publishers, dead_letters, subscriptions = _faststream_spec(
        _wirings() if wirings is None else wirings)
    rendered = doc["components"]["messages"]
    schemas = {k: v for k, v in doc["components"].get("schemas", {}).items() if ":" not in k}
    schemas.update(_envelope_schemas())
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    for channel in doc["channels"].values():
        topic = channel["address"]
        dlq = topic in dead_letters
        merged = channels.setdefault(topic, {
            "address": topic,
            "description": (
                f"Dead letters of {dead_letters[topic]}: the original key, value and headers, "
                "plus x-gx-* headers." if dlq else
                f"{_topic_doc(topic)} Key = stream id; partitioner = murmur2 of the key "
                "(aiokafka default, as the Java client).").strip(),
            "servers": channel["servers"],
            "messages": {},
            "bindings": channel["bindings"],
            "x-partitioner": "murmur2",
            **({"x-internal": True} if dlq or topic in INTERNAL_TOPICS else {}),
        })
        (ref,) = channel["messages"].values()
        key = ref["$ref"].rsplit("/", 1)[-1]
        if dlq:
            name, payload = topic, {"$ref": "#/components/schemas/KafkaEnvelope"}
        elif key.endswith(":SubscribeMessage"):
            continue  # a subscriber: receives the messages published to its topic
        else:
            name, payload = key.removesuffix(":Message"), rendered[key]["payload"]
        messages[name] = _message({**rendered[key], "payload": payload}, name,
                                  merged["description"] if dlq else channel["description"], dlq)
        merged["messages"][name] = {"$ref": f"#/components/messages/{name}"}
    for ch in channels.values():
        ch["messages"] = dict(sorted(ch["messages"].items()))
    doc["channels"] = dict(sorted(channels.items()))
    operations: dict[str, Any] = {}
    for topic, ch in doc["channels"].items():
        writers = (sorted({s.group_id for s in subscriptions if dead_letters.get(topic) in s.topics})
                   if topic in dead_letters else publishers.get(topic))
        if writers:
            who = "consumer groups " if topic in dead_letters else "the outbox relay of "
            readers = ("internal: never granted to subscribers."
                       if topic in dead_letters or topic in INTERNAL_TOPICS
                       else "subscribers receive these messages.")
            operations[f"publish.{topic}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{topic}"},
                "summary": f"gxstat publishes to {topic} ({who}{', '.join(writers)}); {readers}",
                "messages": [{"$ref": f"#/channels/{topic}/messages/{m}"} for m in ch["messages"]],
            }
    for sub in sorted(subscriptions, key=lambda s: s.group_id):
        for topic in sub.topics:
            operations[f"receive.{sub.group_id}.{topic}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{topic}"},
                "summary": f"{sub.description}: consumer group {sub.group_id} reads {topic}, "
                           "acknowledging each batch after its effects commit.",
                "bindings": {"kafka": {"groupId": {"type": "string", "enum": [sub.group_id]},
                                       "bindingVersion": "0.4.0"}},
                "messages": [{"$ref": f"#/channels/{topic}/messages/{m}"}
                             for m in doc["channels"][topic]["messages"]],
            }
    doc["operations"] = dict(sorted(operations.items()))
    doc["components"]["messages"] = dict(sorted(messages.items()))
    doc["components"]["schemas"] = dict(sorted(schemas.items()))
    return {"asyncapi": doc.pop("asyncapi"), **doc}
