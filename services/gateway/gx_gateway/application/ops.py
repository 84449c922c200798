"""运维概览 for role `ops`: each service's readiness and relay (lag, stuck event), the broker's
view (consumer lag per group, dead letters per topic) and the gateway's requests per route;
and the replay of dead letters after a fix, which each consuming service does for its own
groups (gx_kernel.dlq_routes). The broker is sampled at most every `OPS_SAMPLE_SECONDS` (a
background task keeps the OpenTelemetry gauges `gx.consumer.lag` / `gx.dlq.depth` current
between page views)."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import yaml
from aiokafka.errors import KafkaError

from gx_kernel import metrics
from gx_kernel.errors import AppError, Forbidden
from gx_kernel.identity import PRINCIPAL_HEADER, Principal
from gx_kernel.service import ServiceRuntime

from gx_gateway.application import contract_files
from gx_gateway.application.forwarding import signed
from gx_gateway.application.state import state
from gx_gateway.settings import SERVICES

log = logging.getLogger(__name__)
OPS_ROLES = frozenset({"ops"})
OPS_SAMPLE_SECONDS = 15.0


def require_ops(p: Principal) -> None:
    if p.role not in OPS_ROLES:
        raise Forbidden("只有运维人员（ops）可以查看运维概览", code="ops_only")


# libyaml's parser where PyYAML has it: the pure-Python one took ~3 s for the AsyncAPI
# document, on the event loop, at every gateway start
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=4)
def _groups_in(path: str, mtime: float) -> dict[str, tuple[str, ...]]:
    """The platform's consumer groups and their topics (unprefixed), from the AsyncAPI
    document's receive operations (Kafka binding `groupId`); the gateway's image has the
    contracts, not the services' code. Read once per version of the file."""
    doc = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_Loader) or {}  # noqa: S506
    channels = doc.get("channels") or {}
    groups: dict[str, set[str]] = {}
    for op in (doc.get("operations") or {}).values():
        ref = ((op or {}).get("channel") or {}).get("$ref", "")
        address = (channels.get(ref.rpartition("/")[2]) or {}).get("address")
        ids = ((((op.get("bindings") or {}).get("kafka") or {}).get("groupId") or {})
               .get("enum") or [])
        if op.get("action") == "receive" and isinstance(address, str):
            for gid in ids:
                groups.setdefault(str(gid), set()).add(address)
    return {g: tuple(sorted(ts)) for g, ts in groups.items()}


def declared_groups(rt: ServiceRuntime) -> dict[str, tuple[str, ...]]:
    """Consumer groups whose lag counts before their first commit (none without contracts)."""
    path = contract_files.asyncapi_file(rt.settings)  # type: ignore[arg-type]
    prefix = rt.settings.topic_prefix
    try:
        groups = _groups_in(str(path), path.stat().st_mtime)
    except (OSError, yaml.YAMLError, AttributeError):
        log.warning("consumer groups not read from %s", path, exc_info=True)
        return {}
    return {prefix + g: tuple(prefix + t for t in ts) for g, ts in groups.items()}


async def fresh_sample(rt: ServiceRuntime, max_age: float = OPS_SAMPLE_SECONDS
                       ) -> metrics.BrokerSample:
    sample = metrics.broker_sample()
    if sample.at is None or time.time() - sample.at > max_age:
        s = rt.settings
        sample = await metrics.sample_broker(s.kafka_bootstrap_servers, s.topic_prefix,
                                             await asyncio.to_thread(declared_groups, rt))
    return sample


async def sample_forever(rt: ServiceRuntime, every: float = OPS_SAMPLE_SECONDS) -> None:
    """The gauges' sampler (one per gateway replica; the broker's view is the same)."""
    while True:
        with contextlib.suppress(Exception):
            await fresh_sample(rt, max_age=every / 2)
        await asyncio.sleep(every)


async def _service(rt: ServiceRuntime, name: str) -> dict[str, Any]:
    url = rt.settings.service_url(name) + "/ready"
    try:
        r = await state(rt).http.get(url, timeout=2.0)
        body = r.json()
    except (httpx.HTTPError, ValueError) as exc:
        return {"service": name, "status": "unreachable", "error": type(exc).__name__}
    relay = (body.get("details") or {}).get("relay") or {}
    return {"service": name, "status": body.get("status", "unknown"),
            "checks": body.get("checks", {}), "relay_lag": relay.get("lag"),
            "relay_stuck": relay.get("stuck"), "relay_error": relay.get("error")}


def _strip(prefix: str, name: str) -> str:
    return name[len(prefix):] if prefix and name.startswith(prefix) else name


async def overview(rt: ServiceRuntime, p: Principal, fresh: bool = False) -> dict[str, Any]:
    require_ops(p)
    prefix = rt.settings.topic_prefix
    services, sample = await asyncio.gather(
        asyncio.gather(*(_service(rt, n) for n in SERVICES)),
        fresh_sample(rt, max_age=0 if fresh else OPS_SAMPLE_SECONDS))
    return {
        "services": list(services),
        "broker": {
            "sampled_at": sample.at, "error": sample.error,
            "topics": [{"topic": _strip(prefix, t), "records": n,
                        "dead_letters": sample.dlq_depth.get(t + ".dlq")}
                       for t, n in sorted(sample.topic_end.items()) if not t.endswith(".dlq")],
            "dead_letters": [{"topic": _strip(prefix, t), "depth": n}
                             for t, n in sorted(sample.dlq_depth.items())],
            "consumer_lag": [{"group": _strip(prefix, g), "topic": _strip(prefix, t), "lag": n}
                             for (g, t), n in sorted(sample.consumer_lag.items())]},
        "requests": [r for r in metrics.request_snapshot(rt.settings.service_name)
                     if r["route"] not in ("/health", "/ready")],
        "basis": "请求：本网关进程启动以来（各副本各自统计）；中位数与 p99 为直方图区间上界。"
                 "消费积压 = 主题末端偏移 − 消费组已提交偏移；死信 = 死信主题上的记录数。"}


DEAD_LETTERS_SHOWN = 50


def _check_dlq(topic: str) -> None:
    if not topic.endswith(".dlq") or not topic.replace(".", "").replace("_", "").isalnum():
        raise AppError(422, "not_a_dead_letter_topic",
                       f"主题（topic）{topic} 不是死信主题（应以 .dlq 结尾）", field="topic")


async def _letters(rt: ServiceRuntime, topic: str, limit: int | None) -> list[Any]:
    from gx_kernel.dlq import list_dead_letters

    s = rt.settings
    try:
        return await asyncio.wait_for(
            list_dead_letters(s.kafka_bootstrap_servers, s.topic(topic), limit), 20)
    except (TimeoutError, KafkaError) as exc:
        raise AppError(503, "broker_unavailable", f"消息中间件暂不可用：{type(exc).__name__}") from exc


async def dead_letters(rt: ServiceRuntime, p: Principal, topic: str) -> dict[str, Any]:
    """The newest dead letters of one `.dlq` topic (logical name), with their errors."""
    require_ops(p)
    _check_dlq(topic)
    s = rt.settings
    letters = await _letters(rt, topic, DEAD_LETTERS_SHOWN)
    return {"topic": topic, "shown": len(letters), "limit": DEAD_LETTERS_SHOWN,
            "items": [{"time": d.time.isoformat(), "type": d.type, "event_id": d.event_id,
                       "kind": d.kind, "error_type": d.error_type, "error": d.error[:500],
                       "attempts": d.attempts, "consumer_group": _strip(s.topic_prefix,
                                                                        d.consumer_group or ""),
                       "partition": d.partition, "offset": d.offset}
                      for d in reversed(letters)]}


def _owner(prefix: str, group: str | None) -> str | None:
    """The service a consumer group belongs to: groups are `<prefix><service>.<consumer>`."""
    name = _strip(prefix, group or "").split(".", 1)[0]
    return name if name in SERVICES else None


async def replay_dead_letters(rt: ServiceRuntime, p: Principal, topic: str,
                              event_ids: list[str] | None) -> dict[str, Any]:
    """After a fix: every service whose groups left letters on `topic` replays its own (they
    alone can release their tracking rows); `event_ids` chooses letters, None = all."""
    require_ops(p)
    _check_dlq(topic)
    s = rt.settings
    wanted = None if event_ids is None else set(event_ids)
    owners = sorted({o for d in await _letters(rt, topic, None)
                     if d.event_id and (wanted is None or d.event_id in wanted)
                     and (o := _owner(s.topic_prefix, d.consumer_group))})
    body = {"dlq_topic": topic, "event_ids": None if wanted is None else sorted(wanted)}
    done = []
    for name in owners:
        try:
            r = await state(rt).http.post(
                s.service_url(name) + "/internal/dead-letters/replay", json=body, timeout=60.0,
                headers={PRINCIPAL_HEADER: signed(p, s.internal_secret)})
        except httpx.HTTPError as exc:
            raise AppError(503, "replay_unavailable",
                           f"服务 {name} 暂不可用，死信未重放：{type(exc).__name__}") from exc
        if r.status_code != 200:
            raise AppError(502, "replay_failed", f"服务 {name} 重放死信失败（{r.status_code}）",
                           extra={"service": name, "replayed_before": done})
        done.append({"service": name, "replayed": int(r.json()["replayed"])})
    return {"topic": topic, "replayed": sum(d["replayed"] for d in done), "services": done}
