"""审核动作: guards and decisions on a ReviewCase. Pure: each returns event payloads to append.

Guards, in order: the actor's jurisdiction contains the case (403), the actor's role is the
reviewer of the level now holding the case (403 if the role reviews no level of this chain,
409 if it is simply not their turn), the version the actor saw is current (409), and the
action is valid in the case's state (409 invalid_transition).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from gx_contracts.divisions import Level, ancestor_at, contains, level_of
from gx_contracts.events.base import Submission
from gx_contracts.events.workflow import (RETURN_REASONS, CaseAccepted, CaseApproved,
                                          CaseOpened, CaseOverdue, CaseReopened,
                                          CaseResubmitted, CaseReturned)
from gx_contracts.roles import REVIEWER_ROLE_FOR_LEVEL
from gx_kernel.errors import AppError, Forbidden
from gx_kernel.eventstore import ConcurrencyError

from gx_workflow.domain.case import CaseStatus, ReviewCase
from gx_workflow.domain.chains import ChainConfig

_ZH_ACTION = {"approve": "审核通过", "return": "退回", "accept": "验收", "reopen": "重新打开",
              "resubmit": "重新报送", "overdue": "超期标记"}


@dataclass(frozen=True)
class Actor:
    """操作人：user id, role, jurisdiction scope (code or prefix), device."""

    user_id: str
    role: str
    scope: str
    device: str | None = None


def invalid(action: str, why: str) -> AppError:
    return AppError(409, "invalid_transition", f"当前案卷状态不允许{_ZH_ACTION[action]}：{why}")


def can_see(actor: Actor, case: ReviewCase) -> bool:
    """A person sees a case only inside their jurisdiction (prefix of the division code)."""
    return contains(actor.scope, case.division_code)


def authorize(case: ReviewCase, actor: Actor, action: str) -> None:
    """Only the holder level's reviewer, inside their jurisdiction, may act."""
    if not can_see(actor, case):
        raise Forbidden("该案卷不在您的管辖范围内", code="out_of_jurisdiction")
    chain_roles = {REVIEWER_ROLE_FOR_LEVEL[lv].value for lv in case.chain}
    if actor.role not in chain_roles:
        raise Forbidden("您的角色不是该审核链的审核人", code="role_not_reviewer")
    holder = REVIEWER_ROLE_FOR_LEVEL.get(case.level)
    if holder is None or actor.role != holder.value:
        where = case.level.label_zh
        raise AppError(409, "not_at_your_level",
                       f"案卷当前在{where}（{case.status.value}），不在您的层级，不能{_ZH_ACTION[action]}")
    if not contains(actor.scope, ancestor_at(case.division_code, case.level)):
        raise Forbidden("该案卷不在您的管辖范围内", code="out_of_jurisdiction")


def _check_version(case: ReviewCase, expected_version: int) -> None:
    if expected_version != case.version:
        raise ConcurrencyError(case.stream_id, expected_version, case.version)


def _deadline(case_or_secs: dict[str, int], level: Level, now: datetime) -> datetime | None:
    secs = case_or_secs.get(level.value)
    return None if secs is None else now + timedelta(seconds=secs)


def _ref(case: ReviewCase) -> dict:
    return dict(case_id=case.case_id, subject_kind=case.subject_kind, subject_id=case.subject_id,
                division_code=case.division_code)


def _guard(case: ReviewCase, actor: Actor, expected_version: int, action: str) -> None:
    authorize(case, actor, action)
    _check_version(case, expected_version)
    if case.status is not CaseStatus.in_review and action != "reopen":
        raise invalid(action, "案卷不在审核中" if case.status is CaseStatus.returned else "案卷已验收")


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
                      deadline_seconds=chain.deadline_seconds, chain_version=chain.version)


def resubmit(case: ReviewCase, submission: Submission, now: datetime) -> CaseResubmitted | None:
    """重新报送: None for a duplicate (same or older revision) — a no-op, never an error."""
    if submission.revision <= case.revision:
        return None
    if case.status is not CaseStatus.returned:
        raise invalid("resubmit", f"案卷{'已验收' if case.is_final else '仍在审核中'}，未退回报送人")
    first = case.chain[0]
    return CaseResubmitted(**_ref(case), revision=submission.revision, level=first,
                           deadline=_deadline(case.deadline_seconds, first, now))


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


def return_case(case: ReviewCase, actor: Actor, expected_version: int, reason_code: str,
                reason: str, field_notes: dict[str, str], to_level: Level | None,
                now: datetime) -> CaseReturned:
    """退回：to the submitter (village) by default, or to a lower level of the chain."""
    _guard(case, actor, expected_version, "return")
    if reason_code not in RETURN_REASONS:
        raise AppError(422, "return_reason", "退回原因代码无效", field="reason_code")
    target = Level(to_level) if to_level else Level.village
    if target is not Level.village and target not in case.lower_levels():
        raise AppError(422, "invalid_return_target",
                       f"只能退回到报送人或审核链中较低的层级，{target.label_zh}不可选", field="to_level")
    return CaseReturned(**_ref(case), revision=case.revision, from_level=case.level,
                        to_level=target, reason_code=reason_code, reason=reason,
                        field_notes=field_notes,
                        deadline=_deadline(case.deadline_seconds, target, now)
                        if target is not Level.village else None)


def accept(case: ReviewCase, actor: Actor, expected_version: int, comment: str,
           now: datetime) -> CaseAccepted:
    """验收：final at the top; early (数据验收) at a configured lower level, then on to the next."""
    _guard(case, actor, expected_version, "accept")
    if case.level is case.final_level:
        return CaseAccepted(**_ref(case), revision=case.revision, level=case.level,
                            comment=comment)
    if case.level in case.early_accept_levels and case.accepted_level is None:
        up = case.next_level()
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
