"""运维概览 for role `ops`: each service's readiness and relay (lag, stuck event), the broker's
view (consumer lag per group, dead letters per topic) and the gateway's requests per route.

Read-only. The broker is sampled at most every `OPS_SAMPLE_SECONDS` (a background task keeps
the OpenTelemetry gauges `gx.consumer.lag` / `gx.dlq.depth` current between page views)."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import httpx
from aiokafka.errors import KafkaError

from gx_kernel import metrics
from gx_kernel.errors import AppError, Forbidden
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_gateway.application.state import state
from gx_gateway.settings import SERVICES

log = logging.getLogger(__name__)
OPS_ROLES = frozenset({"ops"})
OPS_SAMPLE_SECONDS = 15.0


def require_ops(p: Principal) -> None:
    if p.role not in OPS_ROLES:
        raise Forbidden("只有运维人员（ops）可以查看运维概览", code="ops_only")


async def fresh_sample(rt: ServiceRuntime, max_age: float = OPS_SAMPLE_SECONDS
                       ) -> metrics.BrokerSample:
    sample = metrics.broker_sample()
    if sample.at is None or time.time() - sample.at > max_age:
        s = rt.settings
        sample = await metrics.sample_broker(s.kafka_bootstrap_servers, s.topic_prefix)
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


async def dead_letters(rt: ServiceRuntime, p: Principal, topic: str) -> dict[str, Any]:
    """The newest dead letters of one `.dlq` topic (logical name), with their errors; read-only
    (replay is `python -m gx_kernel.dlq replay` after the fix)."""
    require_ops(p)
    from gx_kernel.dlq import list_dead_letters

    if not topic.endswith(".dlq") or not topic.replace(".", "").replace("_", "").isalnum():
        raise AppError(422, "not_a_dead_letter_topic",
                       f"主题（topic）{topic} 不是死信主题（应以 .dlq 结尾）", field="topic")
    s = rt.settings
    try:
        letters = await asyncio.wait_for(
            list_dead_letters(s.kafka_bootstrap_servers, s.topic(topic), DEAD_LETTERS_SHOWN), 20)
    except (TimeoutError, KafkaError) as exc:
        raise AppError(503, "broker_unavailable", f"消息中间件暂不可用：{type(exc).__name__}") from exc
    return {"topic": topic, "shown": len(letters), "limit": DEAD_LETTERS_SHOWN,
            "items": [{"time": d.time.isoformat(), "type": d.type, "event_id": d.event_id,
                       "kind": d.kind, "error_type": d.error_type, "error": d.error[:500],
                       "attempts": d.attempts, "consumer_group": _strip(s.topic_prefix,
                                                                        d.consumer_group or ""),
                       "partition": d.partition, "offset": d.offset}
                      for d in reversed(letters)]}
