"""The household aggregate on the shared lifecycle and the least-access rule (unit, pure)."""
import datetime as dt
import uuid

import pytest

from gx_contracts.divisions import Level
from gx_contracts.events import decode
from gx_contracts.events.base import Submission
from gx_contracts.events.population import PersonEntry, PopulationReviewStep
from gx_contracts.events.workflow import CaseAccepted, CaseApproved, CaseOpened, CaseReturned

from gx_population.domain.access import View, view_of
from gx_population.domain.household import Household, HouseholdRuleError

pytestmark = pytest.mark.unit
V = "450103103201"
SEALED = {"name": "gxp1:AAAA", "sex": "1"}


def _hh() -> Household:
    return Household(uuid.uuid4(), uuid.uuid4(), V + "001", V, 2026, "001", "enum-1")


def _commit(hh: Household) -> list[str]:
    types = [e.type for e in hh.pending_events]
    hh.version += len(hh.pending_events)
    hh.pending_events.clear()
    return types


def _save(hh: Household, blocking: int = 0) -> None:
    hh.save(form_version="2026.1", household={"household_no": "001"},
            persons=[PersonEntry(person_id=uuid.uuid4(), fields=SEALED)], blocking=blocking)


def _confirm(hh: Household) -> None:
    hh.confirm_readback(at=dt.datetime.now(dt.UTC), enumerator="enum-1", device="d1",
                        respondent="head")


def test_plaintext_never_enters_an_event():
    with pytest.raises(ValueError, match="必须加密"):
        PersonEntry(person_id=uuid.uuid4(), fields={"name": "张三"})
    with pytest.raises(ValueError):
        PersonEntry(person_id=uuid.uuid4(), fields={"id_number": "450103198103053516"})


def test_read_back_of_the_current_content_is_required_before_hand_in():
    hh = _hh()
    with pytest.raises(HouseholdRuleError) as e:
        _confirm(hh)
    assert e.value.code == "nothing_to_read_back"
    _save(hh)
    _commit(hh)
    with pytest.raises(HouseholdRuleError) as e:
        hh.hand_in()
    assert e.value.code == "read_back_required"
    _confirm(hh)
    _commit(hh)
    _save(hh)  # changed after the read-back: read it back again
    _commit(hh)
    with pytest.raises(HouseholdRuleError):
        hh.hand_in()
    _confirm(hh)
    _commit(hh)
    hh.hand_in()
    assert _commit(hh) == ["population.household.handed_in"] and hh.status == "handed_in"
    with pytest.raises(HouseholdRuleError) as e:
        _save(hh)
    assert e.value.code == "household_handed_in"


def test_errors_block_hand_in():
    hh = _hh()
    _save(hh, blocking=2)
    _commit(hh)
    _confirm(hh)
    _commit(hh)
    with pytest.raises(HouseholdRuleError) as e:
        hh.hand_in()
    assert e.value.code == "validation_blocked"


def test_recheck_then_the_chain_through_the_lifecycle():
    hh = _hh()
    for step in (_save, _confirm, Household.hand_in):
        step(hh)
        _commit(hh)
    hh.recheck_return("请核实", {})
    _commit(hh)
    assert hh.status == "draft" and hh.readback_version is None  # read back again
    for step in (_confirm, Household.hand_in):
        step(hh)
        _commit(hh)
    hh.recheck_pass(title="t", field_labels={}, rechecked_by="coord")
    assert _commit(hh) == ["population.household.submitted"]
    assert hh.status == "submitted" and hh.state.review_level is Level.township
    case = uuid.uuid4()
    sub = Submission(subject_kind="population.household", subject_id=str(hh.household_id),
                     division_code=V, revision=1, title="t")
    hh.follow(CaseOpened(case_id=case, submission=sub, level=Level.township,
                         chain=[Level.township, Level.county, Level.region]), _step())
    assert _commit(hh) == ["population.household.review_followed"]
    ref = {"subject_kind": "population.household", "subject_id": str(hh.household_id),
           "division_code": V}
    hh.follow(CaseApproved(**ref, case_id=case, revision=1, from_level=Level.township,
                           to_level=Level.county), _step())
    assert hh.state.review_level is Level.county
    assert _commit(hh) == ["population.household.review_followed"]
    hh.follow(CaseReturned(**ref, case_id=case, revision=1, from_level=Level.county,
                           to_level=Level.village, reason_code="R01", reason="数据有误"), _step())
    assert _commit(hh) == ["population.household.review_followed",
                           "population.household.returned"] and hh.editable
    assert hh.readback_version is None
    hh.follow(CaseAccepted(**ref, case_id=case, revision=9, level=Level.region, final=True),
              _step())
    followed = hh.pending_events[0]
    assert [e.type for e in hh.pending_events] == ["population.household.review_followed"]
    assert followed.data["moved"] is None  # another revision: recorded, nothing changes


def _step() -> PopulationReviewStep:
    return PopulationReviewStep(event_id=uuid.uuid4(), type="workflow.case.approved",
                                at=dt.datetime.now(dt.UTC))


def test_the_lifecycle_is_folded_from_the_events_alone():
    """A household rebuilt from its own events (no row) stands where the live one stands,
    review level and case included (review_followed carries what the lifecycle decided)."""
    hh = _hh()
    raised = []

    def commit():
        raised.extend(hh.pending_events)
        _commit(hh)
    for step in (_save, _confirm, Household.hand_in):
        step(hh)
        commit()
    hh.recheck_pass(title="t", field_labels={}, rechecked_by="coord")
    commit()
    case = uuid.uuid4()
    sub = Submission(subject_kind="population.household", subject_id=str(hh.household_id),
                     division_code=V, revision=1, title="t")
    hh.follow(CaseOpened(case_id=case, submission=sub, level=Level.township,
                         chain=[Level.township, Level.county, Level.region]), _step())
    ref = {"subject_kind": "population.household", "subject_id": str(hh.household_id),
           "division_code": V}
    hh.follow(CaseApproved(**ref, case_id=case, revision=1, from_level=Level.township,
                           to_level=Level.county), _step())
    commit()
    fresh = Household(hh.household_id, hh.area_id, hh.area_code, V, 2026, "001", "enum-1")
    for n, e in enumerate(raised, start=1):
        fresh.apply(decode(e.type, e.schema_version, e.data), n)
    assert fresh.state == hh.state and fresh.state.review_level is Level.county
    assert fresh.state.case_id == case and fresh.stage == hh.stage == "in_chain"


ROLES = ["region_statistician", "city_statistician", "county_statistician",
         "township_statistician", "village_coordinator", "grid_worker", "ops", "subscriber"]
SCOPES = {"region_statistician": "45", "city_statistician": "4501",
          "county_statistician": "450103", "township_statistician": "450103103",
          "village_coordinator": V, "grid_worker": V, "ops": "45", "subscriber": "45"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("level", [None, "township", "county", "city", "region"])
def test_view_matrix(role, level):
    status = "submitted" if level else "draft"
    got = view_of(role, SCOPES[role], "enum-1", village_code=V, enumerator="enum-1",
                  status=status, review_level=level)
    mine = {"region_statistician": "region", "city_statistician": "city",
            "county_statistician": "county", "township_statistician": "township"}.get(role)
    if role == "subscriber":
        assert got is View.none
    elif role in ("village_coordinator", "grid_worker") or (mine and mine == level):
        assert got is View.full
    else:
        assert got is View.counts
    outside = view_of(role, "450102", "x", village_code=V, enumerator="enum-1",
                      status=status, review_level=level)
    assert outside is View.none
    other_enum = view_of("grid_worker", V, "enum-2", village_code=V, enumerator="enum-1",
                         status=status, review_level=level)
    assert other_enum is View.counts
