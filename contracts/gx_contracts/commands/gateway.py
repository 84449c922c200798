"""Gateway request bodies (登录、账号、设备、订阅授权)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..roles import Role
from ..types import Command, DivisionCode, no_nul

__all__ = ["Login", "Refresh", "CreateUser", "EnrolDevice", "RevokeDevice", "GrantTopics"]


class Login(Command):
    """登录."""

    username: Annotated[str, no_nul] = Field(min_length=1, max_length=64, title="用户名",
                                             description="用户名（至多64字符）")
    password: Annotated[str, no_nul] = Field(min_length=1, max_length=128, title="密码",
                                             description="密码（至多128字符）")


class Refresh(Command):
    """刷新访问令牌."""

    refresh_token: Annotated[str, no_nul] = Field(min_length=1, max_length=4096, title="刷新令牌",
                                                  description="刷新令牌（至多4096字符）")


class CreateUser(Command):
    """创建账号（自治区：任意；县：本县的乡镇、村、网格账号）."""

    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$", title="用户名",
                          description="用户名：字母、数字、下划线、点或连字符（3至64字符）")
    name_zh: Annotated[str, no_nul] = Field(min_length=1, max_length=64, title="姓名或机构名",
                                            description="姓名或机构名（至多64字）")
    role: Role = Field(title="角色")
    division: DivisionCode = Field(title="管辖区划代码")
    password: Annotated[str, no_nul] = Field(min_length=8, max_length=128, title="初始密码",
                                             description="初始密码（8至128字符）")


class EnrolDevice(Command):
    """登记采集手机（手机安全证书）：设备自行生成 Ed25519 密钥对，只上传公钥."""

    username: Annotated[str, no_nul] = Field(min_length=1, max_length=64, title="手机使用人用户名",
                                             description="手机使用人用户名（至多64字符）")
    label: Annotated[str, no_nul] = Field(min_length=1, max_length=64, title="设备名称",
                                          description="设备名称（至多64字）")
    public_key: str = Field(min_length=40, max_length=64, pattern=r"^[A-Za-z0-9+/=_\-]+$",
                            title="设备公钥（Base64，Ed25519）",
                            description="设备公钥，Base64 编码的 Ed25519 公钥（40至64字符）")


class RevokeDevice(Command):
    """吊销手机安全证书."""

    reason: Annotated[str, no_nul] = Field(min_length=1, max_length=200, title="吊销原因",
                                           description="吊销原因（至多200字）")


TopicName = Annotated[str, Field(pattern=r"^[a-z][a-z_]*\.events$", max_length=64,
                                 title="主题", description="逻辑主题名，如 agri.events（至多64字符）")]


class GrantTopics(Command):
    """授予或收回订阅系统对主题的读取权限（集合语义：重复授予或收回无副作用）."""

    grant: list[TopicName] = Field(default_factory=list, max_length=20, title="授予的主题",
                                   description="授予的主题（至多20个）")
    revoke: list[TopicName] = Field(default_factory=list, max_length=20, title="收回的主题",
                                    description="收回的主题（至多20个）")
