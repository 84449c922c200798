"""Property tests of the pure ReviewCase: random actions by random actors."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

from hypothesis import given, settings, strategies as st

from gx_contracts.divisions import Level, contains
from gx_contracts.events.base import Submission, event_fields
from gx_contracts.roles import REVIEWER_ROLE_FOR_LEVEL
from gx_kernel.errors import AppError
from gx_workflow.domain import commands as dc
from gx_workflow.domain.case import CaseStatus, ReviewCase
from gx_workflow.domain.chains import ChainConfig

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
DAY = 86400
CHAINS = {
    "agri.report": ChainConfig("agri.report", 1, (Level.township, Level.county, Level.region),
                               Level.region, (), {Level.township: DAY, Level.county: DAY,
                                                  Level.region: DAY}),
    "agri.early": ChainConfig("agri.early", 1, (Level.township, Level.county, Level.city,
                                                Level.region), Level.region, (Level.township,),
                              {Level.township: DAY, Level.county: DAY, Level.city: DAY,
                               Level.region: DAY}),
    "reform.progress_report": ChainConfig(
        "reform.progress_report", 1, (Level.county, Level.city, Level.region), Level.region, (),
        {Level.county: DAY, Level.city: DAY, Level.region: DAY}),
}
DIVISION = {"agri.report": "450103103201", "agri.early": "450103103201",
            "reform.progress_report": "450103000000"}
SCOPES = ["45", "4501", "4502", "450103", "450102", "450103103", "450103100", "450103103201",
          "450103103202"]
ROLES = [r.value for r in REVIEWER_ROLE_FOR_LEVEL.values()] + ["village_coordinator", "ops"]


@dataclass
class Ev:
    type: str
    version: int
    data: dict[str, Any]
    recorded_at: datetime


actors = st.builds(dc.Actor, user_id=st.sampled_from(["u1", "u2"]), role=st.sampled_from(ROLES),
                   scope=st.sampled_from(SCOPES), device=st.sampled_from([None, "phone-1"]))
steps = st.lists(st.tuples(
    st.sampled_from(["approve", "return", "accept", "reopen", "resubmit", "dup", "overdue"]),
    actors, st.sampled_from([None, "village", "township", "county", "city", "region"]),
    st.integers(-1, 0), st.integers(0, 3 * DAY), st.booleans()), max_size=40)


def holder_actor(case: ReviewCase, fallback: dc.Actor) -> dc.Actor:
    """The rightful reviewer of the holding level (so that many actions succeed)."""
    role = REVIEWER_ROLE_FOR_LEVEL.get(case.level)
    if role is None:
        return fallback
    return dc.Actor("holder", role.value, case.division_code[: case.level.prefix_len], "pad-1")


def check_invariants(case: ReviewCase) -> None:
    if case.status is CaseStatus.in_review:
        assert case.level in case.chain and case.deadline is not None
    elif case.status is CaseStatus.returned:
        assert case.level is Level.village and case.deadline is None
    else:
        assert case.level is case.final_level and case.deadline is None
    if case.accepted_level is not None and case.status is CaseStatus.in_review:
        assert case.accepted_level in case.early_accept_levels
        assert case.chain.index(case.level) > case.chain.index(case.accepted_level)


def attempt(case: ReviewCase, action: str, actor: dc.Actor, target, stale: int, now: datetime):
    v = case.version + stale
    if action == "approve":
        return dc.approve(case, actor, v, "好", now)
    if action == "return":
        return dc.return_case(case, actor, v, "R01", "数据有误", {"A01": "偏大"},
                              Level(target) if target else None, now)
    if action == "accept":
        return dc.accept(case, actor, v, "", now)
    if action == "reopen":
        return dc.reopen(case, actor, v, "复核发现问题", now)
    sub = submission(case.subject_kind, case.subject_id,
                     case.revision + (1 if action == "resubmit" else 0))
    if action in ("resubmit", "dup"):
        return dc.resubmit(case, sub, now)
    return dc.mark_overdue(case, now)


def submission(kind: str, subject_id: str, revision: int) -> Submission:
    return Submission(subject_kind=kind, subject_id=subject_id, division_code=DIVISION[kind],
                      task_id=None, revision=revision, title="测试")


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(CHAINS)), plan=steps)
def test_random_actions_keep_the_case_valid_and_replayable(kind, plan):
    sid = str(uuid4())
    opened = dc.open_case(uuid4(), submission(kind, sid, 1), CHAINS[kind], T0)
    log = [Ev(**{k: v for k, v in event_fields(opened).items() if k != "schema_version"},
              version=1, recorded_at=T0)]
    case = ReviewCase.replay(log)
    now = T0
    for action, actor, target, stale, dt, rightful in plan:
        now = now + timedelta(seconds=dt)
        actor = holder_actor(case, actor) if rightful else actor
        before = case
        try:
            payload = attempt(case, action, actor, target, stale, now)
        except AppError as exc:
            assert exc.status in (403, 409, 422)
            assert case == before
            continue
        if payload is None:
            continue  # duplicate submission / not overdue: no-op
        if action in ("approve", "return", "accept", "reopen"):
            # The oracle: only the holder level's reviewer, in jurisdiction, at the current version.
            assert actor.role == REVIEWER_ROLE_FOR_LEVEL[before.level].value
            assert contains(actor.scope, before.division_code)
            assert stale == 0
        f = event_fields(payload)
        log.append(Ev(f["type"], case.version + 1, f["data"], now))
        case = case.apply(log[-1])
        assert case.version == len(log)
        assert case.revision >= before.revision
        check_invariants(case)
    assert ReviewCase.replay(log) == case


def test_full_chain_with_early_acceptance_then_final():
    kind = "agri.early"
    case = ReviewCase.replay([_ev(dc.open_case(uuid4(), submission(kind, "s", 1),
                                              CHAINS[kind], T0), 1)])
    town = dc.Actor("t", "township_statistician", "450103103")
    e = dc.accept(case, town, 1, "数据验收", T0)
    assert e.final is False and e.next_level is Level.county
    case = case.apply(_ev(e, 2))
    assert case.level is Level.county and case.accepted_level is Level.township
    for role, scope in (("county_statistician", "450103"), ("city_statistician", "4501")):
        case = case.apply(_ev(dc.approve(case, dc.Actor("x", role, scope), case.version, "", T0),
                              case.version + 1))
    region = dc.Actor("r", "region_statistician", "45")
    case = case.apply(_ev(dc.accept(case, region, case.version, "", T0), case.version + 1))
    assert case.status is CaseStatus.accepted


def _ev(payload, version):
    f = event_fields(payload)
    return Ev(f["type"], version, f["data"], T0)
