"""回读确认 from the phone: the time the respondent confirmed and the digest of what was read.

Offline, the respondent confirms long before the hand-in reaches the server, so the phone's
time is the confirmation time; it is bounded (not ahead of the server's clock beyond a small
skew, not before the survey's reference time). The digest is SHA-256 of the read-back text as
the phone showed it (ID numbers masked, population_rules.js writes it the same way), checked
against the saved draft, so the confirmation provably covers exactly what was registered.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from gx_population.domain import forms

CHINA = dt.timezone(dt.timedelta(hours=8))


class ReadBackRefused(Exception):
    """The confirmation's time or digest is not acceptable: stable code, field, Chinese text."""

    def __init__(self, code: str, field: str, message: str):
        super().__init__(message)
        self.code, self.field, self.message = code, field, message


def reference_time(form: forms.Form) -> dt.datetime:
    """The survey's reference time: 0:00 (Beijing time) on the form's reference day."""
    return dt.datetime.combine(form.reference, dt.time(0), tzinfo=CHINA)


def check_time(at: dt.datetime, now: dt.datetime, skew_seconds: int, form: forms.Form) -> None:
    if at > now + dt.timedelta(seconds=skew_seconds):
        raise ReadBackRefused(
            "readback_time_in_future", "confirmed_at",
            f"回读确认时间（confirmed_at）晚于服务器时间超过{skew_seconds}秒：请校准手机时间后重新回读确认")
    start = reference_time(form)
    if at < start:
        raise ReadBackRefused(
            "readback_time_before_reference", "confirmed_at",
            f"回读确认时间（confirmed_at）早于本次调查的标准时点"
            f"（{start:%Y年%m月%d日}零时）：请校准手机时间后重新回读确认")


def digest(form: forms.Form, household: Mapping[str, Any],
           persons: Sequence[Mapping[str, Any]]) -> str:
    """SHA-256 (hex) of the read-back text with ID numbers masked, as the phone computes it."""
    text = forms.readback(form, household, persons, mask_id_number=True)
    return hashlib.sha256(text.encode()).hexdigest()


def check_digest(sent: str, form: forms.Form, household: Mapping[str, Any],
                 persons: Sequence[Mapping[str, Any]]) -> None:
    if sent != digest(form, household, persons):
        raise ReadBackRefused(
            "readback_digest_mismatch", "readback_sha256",
            "回读内容摘要（readback_sha256）与已保存的登记内容不一致：读给被调查人的不是当前内容，"
            "请重新保存并回读确认")
