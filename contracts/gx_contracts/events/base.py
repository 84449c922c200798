"""Event metadata, the submission object and the registry of event types."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ..types import DivisionCode, EventPayload, FieldLabels, Revision, SubjectKind

__all__ = [
    "EventMetadata",
    "Submission",
    "EventPayload",
    "EVENT_TYPES",
    "event",
    "payload_model",
    "validate_payload",
    "event_fields",
]


class EventMetadata(BaseModel):
    """事件元数据：谁、以什么角色、在哪个区划、用哪台设备、因何而起（all optional）."""

    model_config = ConfigDict(extra="ignore")

    actor: str | None = Field(None, description="操作人用户ID")
    actor_name: str | None = Field(None, description="操作人用户名（登录名，非真实姓名）")
    role: str | None = Field(None, description="操作人角色")
    division: str | None = Field(None, description="操作人所属区划代码")
    device: str | None = Field(None, description="设备标识")
    causation_id: str | None = Field(None, description="引起本事件的事件或请求ID")
    correlation_id: str | None = Field(None, description="关联ID（同一业务流程）")
    traceparent: str | None = Field(None, description="W3C trace context")


class Submission(EventPayload):
    """报送：any domain's submission, enough for the workflow service to open or resubmit a case."""

    subject_kind: SubjectKind
    subject_id: str = Field(min_length=1, max_length=128, description="审核对象ID（如报表ID）")
    division_code: DivisionCode = Field(description="报送单位（村/单位）所在区划代码")
    task_id: UUID | None = Field(None, description="所属任务ID（如有）")
    revision: Revision
    title: str = Field(max_length=200, description="标题，如“2026年一季度农业生产情况 - 天堂村委会”")
    field_labels: FieldLabels = Field(
        default_factory=dict,
        description="报表的指标：指标代码 -> 中文名称（至多500项）；审核批注只能针对这些指标。"
                    "较早的事件没有此字段（空 = 未知，批注键只需符合指标代码格式）")


EVENT_TYPES: dict[str, tuple[type[BaseModel], int]] = {}
"""event type name -> (payload model, schema_version). Filled by ``@event`` on import of
``gx_contracts.events`` (which imports every domain module)."""

M = TypeVar("M", bound=type[EventPayload])


def event(type_name: str, schema_version: int = 1) -> Callable[[M], M]:
    """Register a payload model under an event type name (``<domain>.<aggregate>.<verb>``)."""

    def register(model: M) -> M:
        if type_name in EVENT_TYPES:
            raise ValueError(f"event type {type_name} registered twice")
        model.EVENT_TYPE = type_name
        model.SCHEMA_VERSION = schema_version
        EVENT_TYPES[type_name] = (model, schema_version)
        return model

    return register


def payload_model(event_type: str) -> type[BaseModel]:
    """The payload model of an event type; KeyError if unknown."""
    try:
        return EVENT_TYPES[event_type][0]
    except KeyError:
        raise KeyError(f"unknown event type: {event_type}") from None


def validate_payload(event_type: str, data: Any) -> BaseModel:
    """Validate ``data`` (dict or JSON-compatible) as the payload of ``event_type``."""
    return payload_model(event_type).model_validate(data)


def event_fields(payload: EventPayload) -> dict[str, Any]:
    """``{type, data, schema_version}`` for an event store append: ``NewEvent(**event_fields(p))``."""
    model = type(payload)
    if not isinstance(payload, EventPayload) or not model.EVENT_TYPE:
        raise TypeError(f"{model.__name__} is not a registered event payload")
    return {
        "type": model.EVENT_TYPE,
        "data": payload.model_dump(mode="json"),
        "schema_version": model.SCHEMA_VERSION,
    }
