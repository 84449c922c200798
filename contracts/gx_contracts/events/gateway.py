"""网关审计（内部主题，不对外授予）：账号、采集手机的登记与吊销、订阅授权。

Topic ``gateway.events``, written by the gateway's relay only. It is **internal**: it names
accounts (login names, roles, divisions), so it is never granted to a subscriber
(``gx_gateway.domain.topics.PUBLIC_TOPICS`` leaves it out) and the cluster's ACLs let only
the gateway's own Kafka user write it and nobody read it (``deploy/k8s``). The events are the
audit trail: ids, role and division only — no personal names, no password or key material.
Streams: ``user-<uuid>``, ``device-<uuid>``, ``device-request-<uuid>``, ``subscriber-<uuid>``.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field

from ..roles import Role
from ..types import DivisionCode, EventPayload, no_nul
from .base import event

__all__ = [
    "UserCreated",
    "UserUnlocked",
    "DeviceRequested",
    "DeviceRequestApproved",
    "DeviceRequestRejected",
    "DeviceEnrolled",
    "DeviceRevoked",
    "SubscriptionGranted",
    "SubscriptionRevoked",
]

Username = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$",
          description="用户名（登录名，非真实姓名；字母、数字、下划线、点或连字符，至多64字符）"),
]
TopicName = Annotated[
    str,
    Field(max_length=64, pattern=r"^[a-z][a-z_]*\.events$",
          description="逻辑主题名，如 agri.events（至多64字符）"),
]


@event("gateway.user.created", 1)
class UserCreated(EventPayload):
    """账号已创建（管理员创建，或演示账号初始化时由 system 创建）."""

    user_id: UUID = Field(description="用户ID")
    username: Username
    role: Role = Field(description="角色")
    division: DivisionCode = Field(description="管辖区划代码")


@event("gateway.user.unlocked", 1)
class UserUnlocked(EventPayload):
    """管理员解除了该账号的登录限制（登录失败过多后的等待）."""

    user_id: UUID = Field(description="用户ID")
    username: Username
    was_held: bool = Field(description="解除时该账号是否正被限制登录")


@event("gateway.device.requested", 1)
class DeviceRequested(EventPayload):
    """采集手机登记申请已提交（村级统计协管员或网格员为本人手机申请；只上传公钥，事件不含公钥）."""

    request_id: UUID = Field(description="登记申请ID")
    user_id: UUID = Field(description="申请人用户ID")
    division: DivisionCode = Field(description="申请人所属区划代码")


@event("gateway.device.request_approved", 1)
class DeviceRequestApproved(EventPayload):
    """登记申请已批准，手机已登记（同一事务中另有 gateway.device.enrolled）."""

    request_id: UUID = Field(description="登记申请ID")
    device_id: UUID = Field(description="登记后的设备ID")


@event("gateway.device.request_rejected", 1)
class DeviceRequestRejected(EventPayload):
    """登记申请已驳回（驳回原因只保存在网关的表中，展示给申请人，不写入事件）."""

    request_id: UUID = Field(description="登记申请ID")


@event("gateway.device.enrolled", 1)
class DeviceEnrolled(EventPayload):
    """采集手机已登记（手机安全证书生效）."""

    device_id: UUID = Field(description="设备ID")
    user_id: UUID = Field(description="手机使用人用户ID")
    division: DivisionCode = Field(description="手机使用人所属区划代码")


@event("gateway.device.revoked", 1)
class DeviceRevoked(EventPayload):
    """手机安全证书已吊销（管理员或使用人本人）."""

    device_id: UUID = Field(description="设备ID")
    reason: Annotated[str, no_nul] = Field(min_length=1, max_length=200,
                                           description="吊销原因（至多200字）")


@event("gateway.subscription.granted", 1)
class SubscriptionGranted(EventPayload):
    """自治区统计局授予订阅系统读取一个主题."""

    user_id: UUID = Field(description="订阅系统账号的用户ID")
    topic: TopicName


@event("gateway.subscription.revoked", 1)
class SubscriptionRevoked(EventPayload):
    """自治区统计局收回订阅系统对一个主题的读取权限."""

    user_id: UUID = Field(description="订阅系统账号的用户ID")
    topic: TopicName
