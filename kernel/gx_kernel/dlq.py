"""Dead letters for an operator: list what `<topic>.dlq` holds, replay them after a fix.

The consumer (gx_kernel.consumer) sends a record it cannot handle to `<topic>.dlq` with its
key, value and headers plus `x-gx-*` headers saying why, and tracks the event as
`dead_lettered` so it is not handled again. Replaying re-publishes the record to its original
topic without the `x-gx-*` headers; given the consumer's database schema it first drops those
`dead_lettered` tracking rows, so the consumer handles the event once more, and only once: a
row `processed` stays, so a second replay has no second effect.

    python -m gx_kernel.dlq --bootstrap HOST:PORT list <dlq-topic>
    python -m gx_kernel.dlq --bootstrap HOST:PORT replay <dlq-topic> [--to TOPIC]
        [--id EVENT_ID ...] [--database-url URL --schema SCHEMA]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from gx_kernel.errors import AppError
from gx_kernel.kafka import client_options, make_admin, make_producer

DLQ_SUFFIX = ".dlq"
_DEAD_LETTER_HEADER = "x-gx-"  # every header the consumer adds when it dead-letters


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    time: datetime
    event_id: str | None  # None for a malformed record (no CloudEvents id)
    type: str | None
    error: str
    kind: str | None  # "permanent" or "transient"
    error_type: str | None
    attempts: int | None
    consumer_group: str | None
    original_topic: str | None
    original_partition: int | None
    original_offset: int | None
    key: bytes | None = field(repr=False, default=None)
    value: bytes | None = field(repr=False, default=None)
    headers: tuple[tuple[str, bytes], ...] = field(repr=False, default=())

    def replay_headers(self) -> list[tuple[str, bytes]]:
        """The record's own headers, without what dead-lettering added."""
        return [(k, v) for k, v in self.headers if not k.startswith(_DEAD_LETTER_HEADER)]


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.lstrip("-").isdigit() else None


def _dead_letter(record: Any) -> DeadLetter:  # an aiokafka ConsumerRecord
    raw = tuple((k, v or b"") for k, v in (record.headers or ()))
    h = {k: v.decode(errors="replace") for k, v in raw}
    return DeadLetter(
        partition=record.partition, offset=record.offset,
        time=datetime.fromtimestamp(record.timestamp / 1000, tz=UTC),
        event_id=h.get("ce_id"), type=h.get("ce_type"), error=h.get("x-gx-error", ""),
        kind=h.get("x-gx-error-kind"), error_type=h.get("x-gx-error-type"),
        attempts=_int(h.get("x-gx-attempts")), consumer_group=h.get("x-gx-consumer-group"),
        original_topic=h.get("x-gx-original-topic"),
        original_partition=_int(h.get("x-gx-original-partition")),
        original_offset=_int(h.get("x-gx-original-offset")),
        key=record.key, value=record.value, headers=raw)


async def _partitions(bootstrap: str, topic: str) -> list[int]:
    admin = make_admin(bootstrap)
    await admin.start()
    try:
        if topic not in await admin.list_topics():  # asking for it by name may create it
            raise AppError(404, "dlq_topic_not_found", f"死信主题 {topic} 不存在",
                           field="dlq_topic")
        [meta] = await admin.describe_topics([topic])
        return sorted(p["partition"] for p in meta["partitions"])
    finally:
        await admin.close()


async def _read_all(bootstrap: str, topic: str, quiet_ms: int = 500,
                    timeout_s: float = 30.0) -> list[Any]:
    """Every record of the topic, read from the beginning without a consumer group.

    Done when a poll comes back empty and every partition is at least at its reported end:
    the reported end alone is not enough (Tansu reports the last batch's base offset + 1)."""
    tps = [TopicPartition(topic, p) for p in await _partitions(bootstrap, topic)]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, fetch_max_wait_ms=100,
                                **client_options())
    await consumer.start()
    records: list[Any] = []
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=quiet_ms, max_records=500)
            for recs in batch.values():
                records += recs
            if not batch and all([await consumer.position(tp) >= ends[tp] for tp in tps]):
                break
    finally:
        await consumer.stop()
    return records


async def list_dead_letters(bootstrap: str, dlq_topic: str,
                            limit: int | None = None) -> list[DeadLetter]:
    """The dead letters of `dlq_topic`, oldest first; with `limit`, the newest `limit`."""
    letters = sorted((_dead_letter(r) for r in await _read_all(bootstrap, dlq_topic)),
                     key=lambda d: (d.time, d.partition, d.offset))
    return letters[-limit:] if limit else letters


async def release_tracking(conn: asyncpg.Connection, schema: str,
                           letters: Iterable[DeadLetter]) -> int:
    """Drop the consumer's `dead_lettered` rows of these events so it handles them again
    (a `processed` row stays: what was applied is never applied twice)."""
    rows = [(d.consumer_group, uuid.UUID(d.event_id)) for d in letters
            if d.consumer_group and d.event_id]
    if not rows:
        return 0
    status = await conn.execute(
        f"DELETE FROM {schema}.consumed_events AS c USING unnest($1::text[], $2::uuid[]) "
        f"AS r(consumer, event_id) WHERE c.consumer = r.consumer AND c.event_id = r.event_id "
        f"AND c.outcome = 'dead_lettered'", [g for g, _ in rows], [e for _, e in rows])
    return int(status.split()[-1])


def _target(letter: DeadLetter, dlq_topic: str, target_topic: str | None) -> str:
    if target_topic:
        return target_topic
    if letter.original_topic:
        return letter.original_topic
    if dlq_topic.endswith(DLQ_SUFFIX):
        return dlq_topic[: -len(DLQ_SUFFIX)]
    raise AppError(422, "replay_target_unknown", f"无法确定 {dlq_topic} 的原主题，请用 --to 指定",
                   field="target_topic")


async def replay(bootstrap: str, dlq_topic: str, target_topic: str | None = None,
                 event_ids: Iterable[str] | None = None, *, pool: asyncpg.Pool | None = None,
                 schema: str | None = None, idempotent: bool = False,
                 group_prefix: str | None = None) -> int:
    """Re-publish the chosen dead letters (by event id; all when None) to their original topic
    (or `target_topic`) with key, value and their own headers; returns how many were sent.

    With `pool` and `schema` (the consuming service's), the consumer's `dead_lettered` rows
    of those events are dropped first; without them the consumer would skip the events."""
    try:
        wanted = None if event_ids is None else {str(uuid.UUID(str(e))) for e in event_ids}
    except ValueError:
        raise AppError(422, "event_id_invalid", "事件 ID 不是 UUID", field="event_ids") from None
    letters = await list_dead_letters(bootstrap, dlq_topic)
    if wanted is not None:
        letters = [d for d in letters if d.event_id in wanted]
    if group_prefix is not None:  # a shared .dlq: only these groups' letters (their rows)
        letters = [d for d in letters if (d.consumer_group or "").startswith(group_prefix)]
    # The DLQ may hold an event more than once (dead-lettered again after a replay).
    unique = list({(d.event_id or f"{d.partition}@{d.offset}"): d for d in letters}.values())
    if pool is not None and schema is not None:
        async with pool.acquire() as conn:
            await release_tracking(conn, schema, unique)
    producer = make_producer(bootstrap, idempotent)
    await producer.start()
    try:
        for d in unique:
            await producer.send_and_wait(_target(d, dlq_topic, target_topic), value=d.value,
                                         key=d.key, headers=d.replay_headers())
    finally:
        await producer.stop()
    return len(unique)


# -- command line ---------------------------------------------------------------------------
def _table(letters: list[DeadLetter]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"死信 {len(letters)} 条")
    for title in ("分区@偏移", "原主题/分区@偏移", "事件 ID", "类型", "类别", "尝试", "时间",
                  "错误"):
        table.add_column(title, overflow="fold")
    for d in letters:
        origin = (f"{d.original_topic}/{d.original_partition}@{d.original_offset}"
                  if d.original_topic else "")
        table.add_row(f"{d.partition}@{d.offset}", origin, d.event_id or "(无)", d.type or "",
                      d.kind or "", "" if d.attempts is None else str(d.attempts),
                      d.time.isoformat(timespec="seconds"), d.error)
    Console(width=200).print(table)


async def _main(args: argparse.Namespace) -> int:
    if args.command == "list":
        _table(await list_dead_letters(args.bootstrap, args.dlq_topic, args.limit))
        return 0
    pool = None
    if args.database_url and args.schema:
        pool = await asyncpg.create_pool(args.database_url, min_size=1, max_size=2)
    elif args.schema:
        print("缺少 --database-url（或环境变量 DATABASE_URL）", file=sys.stderr)
        return 2
    else:
        print("提示：未给 --schema，消费者的跟踪记录未清除，已死信的事件可能被跳过",
              file=sys.stderr)
    try:
        sent = await replay(args.bootstrap, args.dlq_topic, args.to, args.ids, pool=pool,
                            schema=args.schema)
    finally:
        if pool is not None:
            await pool.close()
    print(f"已重放 {sent} 条")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gx_kernel.dlq", description="死信：列出与重放")
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
                        required="KAFKA_BOOTSTRAP_SERVERS" not in os.environ)
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="列出死信")
    listing.add_argument("dlq_topic")
    listing.add_argument("--limit", type=int, default=None, help="只列最新的 N 条")
    again = sub.add_parser("replay", help="把死信重新发布到原主题")
    again.add_argument("dlq_topic")
    again.add_argument("--to", default=None, help="目标主题（默认：原主题）")
    again.add_argument("--id", dest="ids", action="append", default=None, help="事件 ID，可重复")
    again.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    again.add_argument("--schema", default=None, help="消费服务的数据库 schema")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(_main(args))
    except AppError as exc:
        print(f"{exc.code}: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
