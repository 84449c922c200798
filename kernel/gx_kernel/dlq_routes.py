"""`POST /internal/dead-letters/replay` on every service: replay, after a fix, the dead letters
its own consumer groups left on a `.dlq` topic (the ops console calls it through the gateway).

Only the service that consumed can make the replay count: it drops its own `dead_lettered`
tracking rows in its own database (gx_kernel.dlq.replay), then re-publishes the records to
their original topic. Letters of other services' groups are left to those services; other
groups that already processed a replayed event skip it (their `processed` rows stay). A
malformed record (no event id) is not replayed here: `python -m gx_kernel.dlq replay` takes it.
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from gx_kernel.dlq import list_dead_letters, replay
from gx_kernel.errors import Forbidden
from gx_kernel.http import principal, runtime
from gx_kernel.identity import Principal

router = APIRouter(tags=["ops"])
OPS_ROLE = "ops"


class ReplayDeadLetters(BaseModel):
    """重放死信."""

    model_config = ConfigDict(extra="forbid")

    dlq_topic: str = Field(max_length=64, pattern=r"^[a-z][a-z_]*\.events\.dlq$",
                           title="死信主题", description="逻辑死信主题名，如 agri.events.dlq")
    event_ids: list[UUID] | None = Field(None, max_length=500, title="事件ID",
                                         description="只重放这些事件（至多500个）；空 = 本服务的全部")


class Replayed(BaseModel):
    service: str
    dlq_topic: str
    replayed: int = Field(description="重新发布的记录数（同一事件只发一次）")


@router.post("/internal/dead-letters/replay", response_model=Replayed,
             summary="重放本服务消费组的死信（运维）")
async def replay_dead_letters(body: ReplayDeadLetters, p: Principal = Depends(principal),
                              rt: Any = Depends(runtime)) -> dict[str, Any]:
    if p.role != OPS_ROLE:
        raise Forbidden("只有运维人员（ops）可以重放死信", code="ops_only")
    s = rt.settings
    topic, ours = s.topic(body.dlq_topic), f"{s.topic_prefix}{s.service_name}."
    wanted = None if body.event_ids is None else {str(e) for e in body.event_ids}
    ids = sorted({d.event_id for d in await list_dead_letters(s.kafka_bootstrap_servers, topic)
                  if d.event_id and (d.consumer_group or "").startswith(ours)
                  and (wanted is None or d.event_id in wanted)})
    sent = await replay(s.kafka_bootstrap_servers, topic, event_ids=ids, pool=rt.pool,
                        schema=s.schema, group_prefix=ours) if ids else 0
    return {"service": s.service_name, "dlq_topic": body.dlq_topic, "replayed": sent}
