"""Property tests of the pure ReviewCase: random actions by random actors, on the strict
chain, on the 附件3 chain (township 数据验收, county/city watch and may return, region 确认),
and on others."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from gx_contracts.divisions import Level, contains
from gx_contracts.events.base import Submission, event_fields
from gx_contracts.roles import REVIEWER_ROLE_FOR_LEVEL

from gx_workflow.domain import commands as dc
from gx_workflow.domain.case import CaseStatus, ReviewCase
from gx_workflow.domain.chains import ChainConfig, load_chain_file
from gx_workflow.domain.errors import (
    CaseRefused,
    InvalidInput,
    InvalidTransition,
    NotPermitted,
    NotYourTurn,
    StaleVersion,
)
from tests.hypothesis_budget import examples

T0 = datetime(2026, 3, 1, tzinfo=UTC)
DAY = 86400
CHAINS = {
    "agri.report": ChainConfig("agri.report", 1, (Level.township, Level.county, Level.region),
                               Level.region, (), {Level.township: DAY, Level.county: DAY,
                                                  Level.region: DAY}),
    "agri.early": ChainConfig("agri.early", 1, (Level.township, Level.county, Level.city,
                                                Level.region), Level.region, (Level.township,),
                              {Level.township: DAY, Level.county: DAY, Level.city: DAY,
                               Level.region: DAY}),
    # the packaged 附件3 chain (standard profile) and the strict one
    "agri.annexthree": next(c for c in load_chain_file()
                        if c.subject_kind == "agri.report" and c.version == 2),
    "agri.strictchain": next(c for c in load_chain_file()
                        if c.subject_kind == "agri.report" and c.profile == "strict"),
    "reform.progress_report": ChainConfig(
        "reform.progress_report", 1, (Level.county, Level.city, Level.region), Level.region, (),
        {Level.county: DAY, Level.city: DAY, Level.region: DAY}),
}
DIVISION = {"agri.report": "450103103201", "agri.early": "450103103201",
            "agri.annexthree": "450103103201", "agri.strictchain": "450103103201",
            "reform.progress_report": "450103000000"}
LABELS = {"agri.annexthree": {"A01": "播种面积", "A02": "产量"}}  # others: submissions without labels
SCOPES = ["45", "4501", "4502", "450103", "450102", "450103103", "450103100", "450103103201",
          "450103103202"]
ROLES = [r.value for r in REVIEWER_ROLE_FOR_LEVEL.values()] + ["village_coordinator", "ops"]


@dataclass
class Ev:
    type: str
    version: int
    data: dict[str, Any]
    recorded_at: datetime
    schema_version: int = 1


actors = st.builds(dc.Actor, user_id=st.sampled_from(["u1", "u2"]), role=st.sampled_from(ROLES),
                   scope=st.sampled_from(SCOPES), device=st.sampled_from([None, "phone-1"]))
steps = st.lists(st.tuples(
    st.sampled_from(["approve", "return", "accept", "reopen", "resubmit", "dup", "overdue"]),
    actors, st.sampled_from([None, "village", "township", "county", "city", "region"]),
    st.integers(-1, 0), st.integers(0, 3 * DAY), st.booleans(),
    st.sampled_from([{}, {"A01": "偏大"}, {"A02": "请核实", "A01": "偏大"}, {"ZZ9": "无此指标"},
                     {"bad key!": "格式不对"}, {"A01": "长" * 201}]),
    st.integers(0, 3)), max_size=40)


def holder_actor(case: ReviewCase, fallback: dc.Actor, action: str, pick: int) -> dc.Actor:
    """The rightful reviewer of the holding level — or, for some returns, of a watching level
    (so that many actions succeed)."""
    levels = [case.level] + ([lv for lv in case.watch_levels if lv is not case.level]
                             if action == "return" else [])
    lv = levels[pick % len(levels)]
    role = REVIEWER_ROLE_FOR_LEVEL.get(lv)
    if role is None:
        return fallback
    return dc.Actor("holder", role.value, case.division_code[: lv.prefix_len], "pad-1")


def check_invariants(case: ReviewCase) -> None:
    if case.status is CaseStatus.in_review:
        assert case.level in case.chain and case.deadline is not None
    elif case.status is CaseStatus.returned:
        assert case.level is Level.village and case.deadline is None
    else:
        assert case.level is case.final_level and case.deadline is None
    if case.early_accepted_level is not None:  # 数据验收 below, confirmation pending or done
        assert case.early_accepted_level in case.early_accept_levels
        assert case.status is not CaseStatus.returned
    if case.accepted_level is not None and case.status is CaseStatus.in_review:
        assert case.accepted_level in case.early_accept_levels
        assert case.chain.index(case.level) > case.chain.index(case.accepted_level)


def attempt(case: ReviewCase, action: str, actor: dc.Actor, target, stale: int, now: datetime,
            notes: dict[str, str]):
    v = case.version + stale
    if action == "approve":
        return dc.approve(case, actor, v, "好", now)
    if action == "return":
        return dc.return_case(case, actor, v, "R01", "数据有误", notes,
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
                      task_id=None, revision=revision, title="测试",
                      field_labels=LABELS.get(kind, {}))


def notes_fit(case: ReviewCase, notes: dict[str, str]) -> bool:
    """The oracle of field notes: codes of the form (or well-formed codes), short notes."""
    import re
    ok_code = ((lambda k: k in case.field_labels) if case.field_labels
               else (lambda k: re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}", k) is not None))
    return all(ok_code(k) and len(v) <= 200 for k, v in notes.items())


_REFUSALS = (NotPermitted, NotYourTurn, InvalidTransition, InvalidInput)


@settings(max_examples=examples(300), deadline=None)
@given(kind=st.sampled_from(sorted(CHAINS)), plan=steps)
def test_random_actions_keep_the_case_valid_and_replayable(kind, plan):
    run_plan(kind, plan)


annex3_steps = st.lists(st.tuples(
    st.sampled_from(["approve", "return", "return", "accept", "resubmit"]), actors,
    st.sampled_from([None, "township"]), st.just(0), st.integers(0, DAY),
    st.just(True), st.sampled_from([{}, {"A01": "偏大"}, {"ZZ9": "?"}]),
    st.integers(0, 3)), max_size=30)


@settings(max_examples=examples(200), deadline=None)
@given(plan=annex3_steps)
def test_annex3_chain_random_watcher_returns_keep_the_case_valid(plan):
    run_plan("agri.annexthree", plan)


def run_plan(kind, plan):
    sid = str(uuid4())
    opened = dc.open_case(uuid4(), submission(kind, sid, 1), CHAINS[kind], T0)
    log = [Ev(**{k: v for k, v in event_fields(opened).items() if k != "schema_version"},
              version=1, recorded_at=T0)]
    case = ReviewCase.replay(log)
    now = T0
    for action, actor, target, stale, dt, rightful, notes, pick in plan:
        now = now + timedelta(seconds=dt)
        actor = holder_actor(case, actor, action, pick) if rightful else actor
        before = case
        try:
            payload = attempt(case, action, actor, target, stale, now, notes)
        except (CaseRefused, StaleVersion) as exc:
            assert isinstance(exc, (*_REFUSALS, StaleVersion))
            assert case == before
            continue
        if payload is None:
            continue  # duplicate submission / not overdue: no-op
        if action in ("approve", "return", "accept", "reopen"):
            # The oracle: the holder level's reviewer — or, returning a case in review, a
            # watching level's reviewer — in jurisdiction, at the current version.
            holder = actor.role == REVIEWER_ROLE_FOR_LEVEL[before.level].value
            watcher = action == "return" and dc.watcher_level(before, actor) is not None
            assert holder or watcher
            assert contains(actor.scope, before.division_code)
            assert stale == 0
        if action == "return":
            assert before.status is CaseStatus.in_review and notes_fit(before, notes)
            assert payload.field_notes == notes
            if not holder:  # a watcher: its own level, below the holder or beside the chain
                assert payload.from_level in before.watch_levels
                event("return by a watching level")
        if action == "accept" and not payload.final:
            event("early acceptance")
            assert payload.level in before.early_accept_levels
            assert payload.next_level is before.final_level
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
    assert e.final is False and e.next_level is Level.region  # straight to the confirmation
    case = case.apply(_ev(e, 2))
    assert case.level is Level.region and case.accepted_level is Level.township
    region = dc.Actor("r", "region_statistician", "45")
    case = case.apply(_ev(dc.accept(case, region, case.version, "", T0), case.version + 1))
    assert case.status is CaseStatus.accepted


def _ev(payload, version):
    f = event_fields(payload)
    return Ev(f["type"], version, f["data"], T0)


def test_annex3_watchers_return_while_in_review_or_accepted_early_not_after():
    kind = "agri.annexthree"
    case = ReviewCase.replay([_ev(dc.open_case(uuid4(), submission(kind, "s", 1),
                                              CHAINS[kind], T0), 1)])
    county, city = (dc.Actor("c", "county_statistician", "450103"),
                    dc.Actor("m", "city_statistician", "4501"))
    other_county = dc.Actor("o", "county_statistician", "450102")
    assert dc.watcher_level(case, county) is Level.county  # in review at the township
    town = dc.Actor("t", "township_statistician", "450103103")
    case = case.apply(_ev(dc.accept(case, town, 1, "数据验收", T0), 2))
    with pytest.raises(NotPermitted):
        dc.return_case(case, other_county, 2, "R01", "x", {}, None, T0)
    with pytest.raises(NotYourTurn):  # watchers return; they do not approve
        dc.approve(case, county, 2, "", T0)
    with pytest.raises(InvalidInput):  # notes only on the form's indicators
        dc.return_case(case, city, 2, "R01", "x", {"ZZ9": "?"}, None, T0)
    back = dc.return_case(case, city, 2, "R03", "逻辑不符", {"A01": "偏大"}, Level.township, T0)
    assert (back.from_level, back.to_level) == (Level.city, Level.township)
    returned = case.apply(_ev(back, 3))
    assert returned.accepted_level is None and returned.level is Level.township
    region = dc.Actor("r", "region_statistician", "45")
    done = case.apply(_ev(dc.accept(case, region, 2, "", T0), 3))
    assert done.status is CaseStatus.accepted
    with pytest.raises(NotYourTurn):  # confirmed: watching is over
        dc.return_case(done, county, 3, "R01", "x", {}, None, T0)


def test_strict_chain_has_no_early_acceptance_and_no_watchers():
    kind = "agri.strictchain"
    case = ReviewCase.replay([_ev(dc.open_case(uuid4(), submission(kind, "s", 1),
                                              CHAINS[kind], T0), 1)])
    with pytest.raises(InvalidTransition):
        dc.accept(case, dc.Actor("t", "township_statistician", "450103103"), 1, "", T0)
    with pytest.raises(NotYourTurn):
        dc.return_case(case, dc.Actor("c", "county_statistician", "450103"), 1, "R01", "x", {},
                       None, T0)
