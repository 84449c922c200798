"""The read-back confirmation as the phone sends it (the service's own body until the contract's
ConfirmReadBack takes these fields: patch population-2)."""
from __future__ import annotations

from pydantic import AwareDatetime, Field

from gx_contracts.commands.population import ConfirmReadBack


class ConfirmReadBackOnPhone(ConfirmReadBack):
    """回读确认：确认人，以及手机上记录的确认时间与回读内容摘要（离线时确认早于交表）."""

    confirmed_at: AwareDatetime | None = Field(
        None, title="确认时间（手机）",
        description="被调查人在手机上确认的时间（带时区）；不得晚于服务器时间加允许误差，不得早于调查标准时点")
    readback_sha256: str | None = Field(
        None, min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$", title="回读内容摘要",
        description="读给被调查人的回读文字（公民身份号码遮蔽为前4后4位）的 SHA-256（64位小写十六进制）")
