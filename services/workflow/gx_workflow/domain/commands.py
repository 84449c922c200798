"""审核动作: guards and decisions on a ReviewCase. Pure: each returns event payloads to append.

Guards, in order: the actor's jurisdiction contains the case (NotPermitted), the actor's role
is the reviewer of the level now holding the case — or, for a return, of a level that watches
the chain (同步监测) — (NotPermitted if the role takes no part in this chain, NotYourTurn if it
is simply not their turn), the version the actor saw is current (StaleVersion), and the action
is valid in the case's state (InvalidTransition). Refusals are domain errors (domain/errors.py);
the API maps them to HTTP.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from gx_contracts.divisions import Level, ancestor_at, contains, level_of
from gx_contracts.events.base import Submission
from gx_contracts.events.workflow import (
    RETURN_REASONS,
    CaseAccepted,
    CaseApproved,
    CaseOpened,
    CaseOverdue,
    CaseReopened,
    CaseResubmitted,
    CaseReturned,
)
from gx_contracts.roles import LEVEL_OF_ROLE, REVIEWER_ROLE_FOR_LEVEL, Role
from gx_contracts.types import INDICATOR_CODE_PATTERN, MAX_FIELD_NOTES

from gx_workflow.domain.case import CaseStatus, ReviewCase
from gx_workflow.domain.chains import ChainConfig
from gx_workflow.domain.errors import (
    InvalidInput,
    InvalidTransition,
    NotPermitted,
    NotYourTurn,
    StaleVersion,
)

_ZH_ACTION = {"approve": "审核通过", "return": "退回", "accept": "验收", "reopen": "重新打开",
              "resubmit": "重新报送", "overdue": "超期标记"}
_CODE = re.compile(INDICATOR_CODE_PATTERN)
MAX_NOTE_CHARS = 200


@dataclass(frozen=True)
class Actor:
    """操作人：user id, role, jurisdiction scope (code or prefix), device."""

    user_id: str
    role: str
    scope: str
    device: str | None = None


def invalid(action: str, why: str) -> InvalidTransition:
    return InvalidTransition("invalid_transition", f"当前案卷状态不允许{_ZH_ACTION[action]}：{why}")


def can_see(actor: Actor, case: ReviewCase) -> bool:
    """A person sees a case only inside their jurisdiction (prefix of the division code)."""
    return contains(actor.scope, case.division_code)


def _role_level(role: str) -> Level | None:
    try:
        return LEVEL_OF_ROLE.get(Role(role))
    except ValueError:
        return None


def watcher_level(case: ReviewCase, actor: Actor) -> Level | None:
    """The watching level (同步监测) the actor reviews for, if they may return the case now."""
    lv = _role_level(actor.role)
    if (lv is None or lv not in case.watch_levels or lv is case.level
            or case.status is not CaseStatus.in_review
            or not contains(actor.scope, ancestor_at(case.division_code, lv))):
        return None
    return lv


def authorize(case: ReviewCase, actor: Actor, action: str) -> Level:
    """The level the actor acts for: the holder's, or a watching level's for a return."""
    if not can_see(actor, case):
        raise NotPermitted("out_of_jurisdiction", "该案卷不在您的管辖范围内")
    levels = case.chain + (case.watch_levels if action == "return" else ())
    if actor.role not in {REVIEWER_ROLE_FOR_LEVEL[lv].value for lv in levels}:
        raise NotPermitted("role_not_reviewer", "您的角色不是该审核链的审核人")
    holder = REVIEWER_ROLE_FOR_LEVEL.get(case.level)
    if holder is None or actor.role != holder.value:
        watching = watcher_level(case, actor) if action == "return" else None
        if watching is not None:
            return watching
        raise NotYourTurn("not_at_your_level", f"案卷当前在{case.level.label_zh}"
                          f"（{case.status.value}），不在您的层级，不能{_ZH_ACTION[action]}")
    if not contains(actor.scope, ancestor_at(case.division_code, case.level)):
        raise NotPermitted("out_of_jurisdiction", "该案卷不在您的管辖范围内")
    return case.level


def _check_version(case: ReviewCase, expected_version: int) -> None:
    if expected_version != case.version:
        raise StaleVersion(case.stream_id, expected_version, case.version)


def _deadline(case_or_secs: dict[str, int], level: Level, now: datetime) -> datetime | None:
    secs = case_or_secs.get(level.value)
    return None if secs is None else now + timedelta(seconds=secs)


def _ref(case: ReviewCase) -> dict[str, Any]:
    return dict(case_id=case.case_id, subject_kind=case.subject_kind, subject_id=case.subject_id,
                division_code=case.division_code)


def _guard(case: ReviewCase, actor: Actor, expected_version: int, action: str) -> Level:
    acting = authorize(case, actor, action)
    _check_version(case, expected_version)
    if case.status is not CaseStatus.in_review and action != "reopen":
        raise invalid(action, "案卷不在审核中" if case.status is CaseStatus.returned else "案卷已验收")
    return acting


# -- opening and resubmission (from a domain service's submission) ------------------------
def open_case(case_id: UUID, submission: Submission, chain: ChainConfig,
              now: datetime) -> CaseOpened:
    """建立案卷 at the first level of a copy of the chain."""
    first = chain.levels[0]
    if first.rank < level_of(submission.division_code).rank:
        raise ValueError(f"{submission.subject_kind}: first review level {first.value} is below "
                         f"the submitter's division {submission.division_code}")
    secs = {k.value: v for k, v in chain.deadline_seconds.items()}
    return CaseOpened(case_id=case_id, submission=submission, chain=list(chain.levels),
                      level=first, deadline=_deadline(secs, first, now),
                      final_level=chain.final_level,
                      early_accept_levels=list(chain.early_accept_levels),
                      deadline_seconds=chain.deadline_seconds, chain_version=chain.version,
                      watch_levels=list(chain.watch_levels), chain_profile=chain.profile)


def resubmit(case: ReviewCase, submission: Submission, now: datetime) -> CaseResubmitted | None:
    """重新报送: None for a duplicate (same or older revision) — a no-op, never an error."""
    if submission.revision <= case.revision:
        return None
    if case.status is not CaseStatus.returned:
        raise invalid("resubmit", f"案卷{'已验收' if case.is_final else '仍在审核中'}，未退回报送人")
    first = case.chain[0]
    return CaseResubmitted(**_ref(case), revision=submission.revision, level=first,
                           deadline=_deadline(case.deadline_seconds, first, now),
                           field_labels=submission.field_labels or None)


# -- reviewers' actions -----------------------------------------------------------------
def approve(case: ReviewCase, actor: Actor, expected_version: int, comment: str,
            now: datetime) -> CaseApproved:
    """审核通过，报送上一级."""
    _guard(case, actor, expected_version, "approve")
    up = case.next_level()
    if up is None:
        raise invalid("approve", f"{case.level.label_zh}是最终验收层级，请使用验收")
    return CaseApproved(**_ref(case), revision=case.revision, from_level=case.level, to_level=up,
                        comment=comment, deadline=_deadline(case.deadline_seconds, up, now))


def check_field_notes(case: ReviewCase, notes: dict[str, str]) -> None:
    """批注 only on indicators of the submitted form (any well-formed code when the submission
    named none), one note each, bounded; every fault named as ``field_notes.<code>``."""
    if len(notes) > MAX_FIELD_NOTES:
        raise InvalidInput("too_many_field_notes", f"指标批注至多{MAX_FIELD_NOTES}条",
                           [{"field": "field_notes", "message": f"至多{MAX_FIELD_NOTES}条"}])
    errors = []
    for code, note in notes.items():
        known = code in case.field_labels if case.field_labels else bool(_CODE.fullmatch(code))
        if not known:
            errors.append({"field": f"field_notes.{code[:64]}",
                           "message": f"该报表没有指标“{code[:64]}”，不能批注"})
        elif len(note) > MAX_NOTE_CHARS:
            errors.append({"field": f"field_notes.{code}",
                           "message": f"批注过长：至多{MAX_NOTE_CHARS}字"})
    if errors:
        detail = "；".join(f"{e['field']}：{e['message']}" for e in errors[:5])
        raise InvalidInput("invalid_field_notes", f"指标批注有误：{detail}", errors[:50])


def return_case(case: ReviewCase, actor: Actor, expected_version: int, reason_code: str,
                reason: str, field_notes: dict[str, str], to_level: Level | None,
                now: datetime) -> CaseReturned:
    """退回：to the submitter (village) by default, or to a chain level below the returner.

    The returner is the holder level, or a watching level (同步监测) while the case is in review
    or accepted early — e.g. the county returns a report the township has accepted."""
    acting = _guard(case, actor, expected_version, "return")
    if reason_code not in RETURN_REASONS:
        raise InvalidInput("return_reason", "退回原因代码无效",
                           [{"field": "reason_code", "message": "退回原因代码无效"}])
    check_field_notes(case, field_notes)
    target = Level(to_level) if to_level else Level.village
    if acting is case.level:
        lower = case.lower_levels()
    else:  # a watcher: chain levels below it, other than where the case is now
        lower = tuple(lv for lv in case.chain if lv.rank < acting.rank and lv is not case.level)
    if target is not Level.village and target not in lower:
        message = f"只能退回到报送人或审核链中较低的层级，{target.label_zh}不可选"
        raise InvalidInput("invalid_return_target", message,
                           [{"field": "to_level", "message": message}])
    return CaseReturned(**_ref(case), revision=case.revision, from_level=acting,
                        to_level=target, reason_code=reason_code, reason=reason,
                        field_notes=field_notes,
                        deadline=_deadline(case.deadline_seconds, target, now)
                        if target is not Level.village else None)


def accept(case: ReviewCase, actor: Actor, expected_version: int, comment: str,
           now: datetime) -> CaseAccepted:
    """验收：final (确认) at the top; early (数据验收) at a configured lower level, after which
    the case goes straight to the final level for confirmation."""
    _guard(case, actor, expected_version, "accept")
    if case.level is case.final_level:
        return CaseAccepted(**_ref(case), revision=case.revision, level=case.level,
                            comment=comment)
    if case.level in case.early_accept_levels and case.accepted_level is None:
        up = case.final_level
        return CaseAccepted(**_ref(case), revision=case.revision, level=case.level, final=False,
                            next_level=up, comment=comment,
                            deadline=_deadline(case.deadline_seconds, up, now))
    raise invalid("accept", f"{case.level.label_zh}不是验收层级")


def reopen(case: ReviewCase, actor: Actor, expected_version: int, reason: str,
           now: datetime) -> CaseReopened:
    """重新打开：the final level undoes its acceptance."""
    _guard(case, actor, expected_version, "reopen")
    if case.status is not CaseStatus.accepted:
        raise invalid("reopen", "案卷尚未验收")
    return CaseReopened(**_ref(case), revision=case.revision, level=case.final_level,
                        reason=reason,
                        deadline=_deadline(case.deadline_seconds, case.final_level, now))


def mark_overdue(case: ReviewCase, now: datetime) -> CaseOverdue | None:
    """超期：once per holding of a level; None when not (or no longer) overdue."""
    if (case.status is not CaseStatus.in_review or case.late or case.deadline is None
            or now < case.deadline):
        return None
    return CaseOverdue(**_ref(case), level=case.level, deadline=case.deadline)
