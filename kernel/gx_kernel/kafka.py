"""Kafka plumbing: producer settings, topic creation, the CloudEvents binary-mode wire format."""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError
from aiokafka.helpers import create_ssl_context
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gx_kernel.errors import EventTooLarge

if TYPE_CHECKING:  # the event store imports this module (size check): no import cycle
    from faststream.security import BaseSecurity

    from gx_kernel.eventstore import NewEvent, StoredEvent

log = logging.getLogger(__name__)
CE_SPECVERSION = "1.0"
DEFAULT_MAX_EVENT_BYTES = 256 * 1024  # well under Kafka's default max.message.bytes (1 MiB)


class KafkaSecurity(BaseSettings):
    """How every Kafka client of a service connects: plaintext for the embedded broker and
    compose, SASL_SSL with SCRAM-SHA-512 on a real cluster (deploy/k8s sets these)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    security_protocol: str = Field("PLAINTEXT", alias="KAFKA_SECURITY_PROTOCOL")
    sasl_mechanism: str | None = Field(None, alias="KAFKA_SASL_MECHANISM")
    sasl_username: str | None = Field(None, alias="KAFKA_SASL_USERNAME")
    sasl_password: str | None = Field(None, alias="KAFKA_SASL_PASSWORD")
    ssl_cafile: str | None = Field(None, alias="KAFKA_SSL_CAFILE")

    def client_options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {"security_protocol": self.security_protocol}
        if self.security_protocol in ("SSL", "SASL_SSL"):
            opts["ssl_context"] = create_ssl_context(cafile=self.ssl_cafile)
        if self.security_protocol.startswith("SASL_"):
            opts.update(sasl_mechanism=self.sasl_mechanism or "SCRAM-SHA-512",
                        sasl_plain_username=self.sasl_username,
                        sasl_plain_password=self.sasl_password)
        return opts

    def faststream_security(self) -> BaseSecurity | None:
        """The same connection as FastStream's broker takes it (`KafkaBroker(security=...)`)."""
        from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

        protocol = self.security_protocol
        if protocol == "PLAINTEXT":
            return None
        tls = protocol in ("SSL", "SASL_SSL")
        context = create_ssl_context(cafile=self.ssl_cafile) if tls else None
        if protocol == "SSL":
            return BaseSecurity(ssl_context=context, use_ssl=True)
        mechanisms: dict[str, type[SASLPlaintext | SASLScram256 | SASLScram512]] = {
            "PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
        mechanism = self.sasl_mechanism or "SCRAM-SHA-512"
        if not protocol.startswith("SASL_") or mechanism not in mechanisms:
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL={protocol} / KAFKA_SASL_MECHANISM="
                             f"{mechanism}: 不支持的 Kafka 连接方式")
        return mechanisms[mechanism](self.sasl_username or "", self.sasl_password or "",
                                     ssl_context=context, use_ssl=tls)


def client_options() -> dict[str, Any]:
    """Connection options for AIOKafkaProducer/Consumer/AdminClient, read from the environment."""
    return KafkaSecurity().client_options()


def make_producer(bootstrap: str, idempotent: bool,
                  max_request_size: int = 1048576) -> AIOKafkaProducer:
    # acks=all always; idempotence is a setting because the dev broker (Tansu) lacks it.
    return AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                            enable_idempotence=idempotent, linger_ms=2,
                            request_timeout_ms=10000, retry_backoff_ms=200,
                            max_request_size=max_request_size, **client_options())


def make_admin(bootstrap: str) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options())


async def ensure_topics(bootstrap: str, names: list[str], partitions: int = 3) -> None:
    admin = make_admin(bootstrap)
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


def leave_group_on_stop(consumer: AIOKafkaConsumer | None) -> None:
    """Make the consumer's `stop()` leave its group on Tansu too. Tansu numbers a group's
    first generation 0 and aiokafka sends LeaveGroup only from generation 1 (Kafka's first):
    a member stopped in generation 0 stayed in the group until its session timed out, and the
    member started next (a restart, a replica) waited ~18 s for its partitions."""
    coordinator = getattr(consumer, "_coordinator", None)
    aiokafka_leave = getattr(coordinator, "_maybe_leave_group", None)
    if coordinator is None or aiokafka_leave is None:
        return  # not started, or a group-less consumer

    async def leave() -> None:
        if coordinator.generation == 0:  # only the check reads it: the request names member
            coordinator.generation = 1
        await aiokafka_leave()

    coordinator._maybe_leave_group = leave


@dataclass(frozen=True)
class TopicView:
    """What the broker holds of one topic. End offsets are only good for 'empty or not':
    Tansu reports the last batch's base offset + 1 as the end, below the real end."""

    cluster_id: str | None
    exists: bool
    end_offsets: dict[int, int]

    @property
    def empty(self) -> bool:
        return not self.exists or not any(self.end_offsets.values())


async def topic_view(bootstrap: str, topic: str) -> TopicView:
    admin = make_admin(bootstrap)
    await admin.start()
    try:
        cluster_id = (await admin.describe_cluster()).get("cluster_id")
        if topic not in await admin.list_topics():  # asking for it by name may create it
            return TopicView(cluster_id, False, {})
        [meta] = await admin.describe_topics([topic])
        partitions = [p["partition"] for p in meta["partitions"]]
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, **client_options())
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
    finally:
        await consumer.stop()
    return TopicView(cluster_id, True, {tp.partition: end for tp, end in ends.items()})


class TopicWatch:
    """`topic_view` over long-lived clients (one admin client, one group-less consumer), for a
    caller that asks every few seconds (the relay's broker check): two fresh clients per
    question (connect, API versions, metadata, close) cost more than the question itself.
    Every question is still asked of the broker; after any failure both clients are closed
    and the next question opens new ones (a restarted broker, a lost connection)."""

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def view(self, topic: str) -> TopicView:
        try:
            return await self._view(topic)
        except BaseException:
            await self.close()
            raise

    async def _view(self, topic: str) -> TopicView:
        if self._admin is None:
            admin = make_admin(self.bootstrap)
            await admin.start()
            self._admin = admin
        cluster_id = (await self._admin.describe_cluster()).get("cluster_id")
        if topic not in await self._admin.list_topics():  # asking for it by name may create it
            return TopicView(cluster_id, False, {})
        [meta] = await self._admin.describe_topics([topic])
        partitions = [p["partition"] for p in meta["partitions"]]
        if self._consumer is None:
            consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                        enable_auto_commit=False, **client_options())
            await consumer.start()
            self._consumer = consumer
        ends = await self._consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        return TopicView(cluster_id, True, {tp.partition: end for tp, end in ends.items()})

    async def close(self) -> None:
        admin, consumer, self._admin, self._consumer = self._admin, self._consumer, None, None
        for close in ((admin.close,) if admin else ()) + ((consumer.stop,) if consumer else ()):
            with contextlib.suppress(Exception):  # a dead broker may fail the close too
                await asyncio.wait_for(close(), 5)


async def recreate_topic(bootstrap: str, topic: str, partitions: int) -> None:
    """Delete the topic (if there) and create it empty: a broker that lost its data must not
    keep the few records written to it since, ahead of the full re-publication."""
    admin = make_admin(bootstrap)
    await admin.start()
    try:
        # A restarted Tansu takes records for a topic it does not list and keeps them for a
        # topic created later under that name; it deletes them only once the topic was asked
        # for by name (which creates it): so ask, then delete, then create.
        await admin.describe_topics([topic])
        with contextlib.suppress(UnknownTopicOrPartitionError):
            await admin.delete_topics([topic])
        for _ in range(50):
            try:
                await admin.create_topics([NewTopic(topic, partitions, 1)])
                return
            except TopicAlreadyExistsError:
                await asyncio.sleep(0.1)  # deletion still under way
        raise RuntimeError(f"topic {topic} could not be recreated")
    finally:
        await admin.close()


def encode(event: StoredEvent, source: str,
           withheld: str | None = None) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Key, value and CloudEvents 1.0 binary-mode headers for one stored event.

    `withheld` (a reason): a stub in the event's place (same id, type, stream, version; data
    omitted; metadata.withheld) for an event an operator parked, so versions stay gapless."""
    if withheld is not None:
        event = dataclasses.replace(event, data={}, metadata={
            **event.metadata, "withheld": True, "withheld_reason": withheld})
    value = {"id": str(event.id), "type": event.type, "schema_version": event.schema_version,
             "stream_id": event.stream_id, "version": event.version, "data": event.data,
             "metadata": event.metadata, "time": event.recorded_at.isoformat()}
    headers = {"ce_id": str(event.id), "ce_type": event.type, "ce_source": source,
               "ce_specversion": CE_SPECVERSION, "ce_time": event.recorded_at.isoformat(),
               "ce_subject": event.stream_id, "ce_dataschemaversion": str(event.schema_version),
               "content-type": "application/json"}
    return (event.stream_id.encode(), json.dumps(value, ensure_ascii=False).encode(),
            [(k, v.encode()) for k, v in headers.items()])


# -- the size of a record, known before the event is stored ---------------------------------
# What the relay adds that the store does not know: its `ce_source` and `traceparent` headers.
RELAY_HEADER_RESERVE = 256
# Record batch header (61) + worst-case record framing (21) + a varint per field, as aiokafka's
# DefaultRecordBatchBuilder.estimate_size_in_bytes counts them (an upper bound).
_RECORD_OVERHEAD = 61 + 21 + 5 * 4
# A number in exponent form as json.dumps writes it (after ": ", ", " or "["; 1e+30, 1.5e-07).
# The same text inside a string only counts a few bytes too many.
_EXPONENT = re.compile(r"(?:[:,] |\[)-?\d+(?:\.\d+)?e[+-](\d+)")
_SIZING_TIME = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)  # longest form
_SIZING_VERSION = 2**31 - 1  # the widest version the events table can hold
# Envelope fields, ce_* headers, framing and the relay's reserve, well above what they take.
_ROUGH_ENVELOPE = 4096


def record_size(stream_id: str, event: NewEvent, metadata: Mapping[str, Any],
                data_json: str | None = None) -> int:
    """Upper bound of the bytes the relay will send for this event (value + key + headers).

    `data_json`: the event's data as the store serialised it (saves serialising it twice).
    PostgreSQL writes numbers without exponents (1e+30 comes back as 31 digits), so each
    exponent is counted at its expanded width."""
    if data_json is None:
        data_json = json.dumps(event.data, ensure_ascii=False, default=str)
    shell = _Sizing(event.id, stream_id, _SIZING_VERSION, event.type, event.schema_version,
                    {}, dict(metadata), _SIZING_TIME)
    key, value, headers = encode(shell, "")  # type: ignore[arg-type]
    size = (_RECORD_OVERHEAD + RELAY_HEADER_RESERVE + len(key) + len(value) - 2
            + len(data_json.encode()) + sum(len(k) + len(v) + 10 for k, v in headers))
    for text in (data_json, value.decode()):
        if "e+" in text or "e-" in text:  # how json.dumps writes every exponent
            size += sum(int(m.group(1)) + 2 for m in _EXPONENT.finditer(text))
    return size


def check_event_size(stream_id: str, events: Sequence[NewEvent], metadata: Mapping[str, Any],
                     limit: int, data_json: Sequence[str] | None = None) -> None:
    """Refuse (EventTooLarge, 413) an append with any event whose record would exceed `limit`.

    Every event store calls this before writing anything; `metadata` is what will be stored.
    An event far below the limit is passed on a cheap bound (every character at most 4 bytes,
    generous room for the envelope) without encoding it; only one near the limit is sized."""
    meta_json: str | None = None
    for i, event in enumerate(events):
        text = data_json[i] if data_json else None
        if text is not None:
            if meta_json is None:
                meta_json = json.dumps(dict(metadata), ensure_ascii=False, default=str)
            chars = len(text) + len(meta_json) + 2 * len(event.type) + 3 * len(stream_id)
            if (4 * chars + _ROUGH_ENVELOPE <= limit and not _EXPONENT.search(text)
                    and not _EXPONENT.search(meta_json)):
                continue
        size = record_size(stream_id, event, metadata, text)
        if size > limit:
            raise EventTooLarge(size, limit, event.type)


@dataclass(frozen=True)
class _Sizing:
    """The fields `encode` reads, for an event not stored yet."""

    id: uuid.UUID
    stream_id: str
    version: int
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime


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
