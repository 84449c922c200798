"""/api/v1/ops/...: what the operations team sees (运维概览) and the replay of dead letters
after a fix, role `ops`."""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from gx_gateway.api.caller import Caller, authenticate
from gx_gateway.application import ops

router = APIRouter(prefix="/api/v1/ops", tags=["运维"])


class ServiceState(BaseModel):
    service: str = Field(description="服务名")
    status: str = Field(description="ready / degraded / not_ready / unreachable")
    checks: dict[str, bool] = Field(default_factory=dict, description="就绪检查项")
    relay_lag: int | None = Field(None, description="事件库中尚未发布的事件数")
    relay_stuck: dict | None = Field(None, description="卡住的事件（位置、事件、流、错误）")
    relay_error: str | None = None
    error: str | None = None


class TopicState(BaseModel):
    topic: str
    records: int = Field(description="主题上的记录数（各分区末端偏移之和）")
    dead_letters: int | None = Field(None, description="对应死信主题上的记录数")


class DeadLetterDepth(BaseModel):
    topic: str
    depth: int


class ConsumerLag(BaseModel):
    group: str
    topic: str
    lag: int = Field(description="主题末端偏移 − 消费组已提交偏移")


class BrokerState(BaseModel):
    sampled_at: float | None = Field(None, description="取样时间（Unix 秒）")
    error: str | None = Field(None, description="取样失败的原因")
    topics: list[TopicState]
    dead_letters: list[DeadLetterDepth]
    consumer_lag: list[ConsumerLag]


class RouteRequests(BaseModel):
    service: str
    method: str
    route: str = Field(description="路由模板（不含具体ID）")
    count: int
    errors: int = Field(description="5xx 次数")
    refused: int = Field(description="4xx 次数")
    mean_ms: float | None
    p50_ms: float | None
    p99_ms: float | None


class OpsOverview(BaseModel):
    """运维概览."""

    services: list[ServiceState]
    broker: BrokerState
    requests: list[RouteRequests]
    basis: str = Field(description="各数字的口径")


@router.get("/overview", summary="运维概览（只读）", response_model=OpsOverview)
async def overview(request: Request, caller: Caller = Depends(authenticate),
                   fresh: bool = Query(False, description="重新取样消息中间件（否则用 15 秒内的样本）")
                   ) -> dict:
    return await ops.overview(request.app.state.runtime, caller.principal, fresh=fresh)


class DeadLetter(BaseModel):
    time: str
    type: str | None = Field(None, description="事件类型")
    event_id: str | None = None
    kind: str | None = Field(None, description="permanent（不可重试）或 transient（重试用尽）")
    error_type: str | None = None
    error: str = Field(description="处理失败的原因")
    attempts: int | None = None
    consumer_group: str
    partition: int
    offset: int


class DeadLetters(BaseModel):
    """死信（最新的若干条）."""

    topic: str
    shown: int
    limit: int
    items: list[DeadLetter]


@router.get("/dead-letters", summary="死信列表（最新若干条，含失败原因）",
            response_model=DeadLetters)
async def dead_letters(request: Request, caller: Caller = Depends(authenticate),
                       topic: str = Query(..., min_length=5, max_length=200,
                                          description="死信主题，如 agri.events.dlq")) -> dict:
    return await ops.dead_letters(request.app.state.runtime, caller.principal, topic)


class ReplayRequest(BaseModel):
    """重放死信（修复原因之后）."""

    model_config = ConfigDict(extra="forbid")

    topic: str = Field(min_length=5, max_length=64, pattern=r"^[a-z][a-z_]*\.events\.dlq$",
                       title="死信主题", description="死信主题，如 agri.events.dlq")
    event_ids: list[UUID] | None = Field(None, max_length=500, title="事件ID",
                                         description="只重放这些事件（至多500个）；不填 = 全部")


class ServiceReplay(BaseModel):
    service: str
    replayed: int = Field(description="该服务重新发布的记录数")


class Replayed(BaseModel):
    """已重放：各消费服务各自清除跟踪记录后重新发布到原主题；已处理过的事件不会再生效."""

    topic: str
    replayed: int
    services: list[ServiceReplay]


@router.post("/dead-letters/replay", summary="重放死信（修复原因之后；一条或全部）",
             response_model=Replayed)
async def replay_dead_letters(body: ReplayRequest, request: Request,
                              caller: Caller = Depends(authenticate)) -> dict:
    ids = None if body.event_ids is None else [str(e) for e in body.event_ids]
    return await ops.replay_dead_letters(request.app.state.runtime, caller.principal,
                                         body.topic, ids)
