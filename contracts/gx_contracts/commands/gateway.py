"""Gateway request bodies (登录)."""

from __future__ import annotations

from pydantic import Field

from ..types import Command

__all__ = ["Login", "Refresh"]


class Login(Command):
    """登录."""

    username: str = Field(min_length=1, max_length=64, title="用户名")
    password: str = Field(min_length=1, max_length=128, title="密码")


class Refresh(Command):
    """刷新访问令牌."""

    refresh_token: str = Field(min_length=1, max_length=4096, title="刷新令牌")
