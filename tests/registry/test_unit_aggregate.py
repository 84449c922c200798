"""The unit aggregate: events with their source, folded back into the same state."""
import uuid

import pytest

from gx_contracts.events import decode
from gx_contracts.events.registry import Source

from gx_registry.domain import tasks as rules
from gx_registry.domain.classify import classify
from gx_registry.domain.unit import Unit, UnitError

pytestmark = pytest.mark.unit
SRC = Source(kind="department_file", batch_id=uuid.uuid4(), department="市场监管", row_no=7)


def _new() -> Unit:
    rec = {"name": "南宁天堂宏达科技有限公司南宁分公司", "uscc": None, "address": "长塘镇",
           "legal_rep": "黄伟", "status": "1"}
    return Unit.register(uuid.uuid4(), rec, "450103103201", classify(rec["name"]), SRC,
                         explanation={"outcome": "new", "text": "判定为新增单位"})


def test_register_raises_registered_and_classified_with_the_source():
    u = _new()
    types = [e.type for e in u.pending_events]
    assert types == ["registry.unit.registered", "registry.unit.classified"]
    reg = u.pending_events[0].data
    assert reg["source"]["row_no"] == 7 and reg["explanation"]["outcome"] == "new"
    assert u.unit_kind == "activity_unit" and u.pending_events[1].data["kind_rule"] == "kind.branch_name"


def test_change_records_previous_values_and_a_closing_status_closes():
    u = _new()
    u.pending_events.clear()
    assert not u.change({"legal_rep": "黄伟"}, SRC)  # nothing differs: no event
    assert u.change({"legal_rep": "黄小伟", "status": "6", "unknown": 1}, SRC)
    changed, closed = (e.data for e in u.pending_events)
    assert changed["changes"] == {"legal_rep": "黄小伟", "status": "6"}
    assert changed["previous"] == {"legal_rep": "黄伟", "status": "1"}
    assert closed["status"] == "6" and u.closed


def test_a_closing_status_the_register_already_had_still_closes():
    u = _new()
    u.status = "6"  # registered 注销 before closing was derived from it: open in the register
    u.pending_events.clear()
    assert u.change({"status": "6"}, SRC)  # nothing differs, but the unit closes
    assert [e.type for e in u.pending_events] == ["registry.unit.closed"] and u.closed
    u.pending_events.clear()
    assert not u.change({"status": "6"}, SRC)  # closed already: nothing again


def test_a_closed_unit_is_not_opened_again_by_a_status():
    u = _new()
    u.close("7", "吊销", Source(kind="manual"))
    u.pending_events.clear()
    assert not u.change({"status": "1"}, SRC)  # 存续 from a file: no event
    assert u.change({"status": "1", "address": "长塘镇天堂村"}, SRC)
    assert u.pending_events[0].data["changes"] == {"address": "长塘镇天堂村"}
    assert (u.closed, u.status) == (True, "7")
    with pytest.raises(UnitError) as err:
        u.close("6", "注销", Source(kind="manual"))
    assert err.value.code == "already_closed"


def test_replaying_the_events_gives_the_same_unit():
    u = _new()
    u.change({"address": "长塘镇天堂村"}, SRC)
    u.move("450102101001", "transferred_out", "实地在兴宁区", Source(kind="manual"))
    payloads = [decode(e.type, e.schema_version, e.data) for e in u.pending_events]
    again = Unit.from_events(u.unit_id, payloads)
    assert (again.address, again.division_code, again.unit_kind, again.version) == (
        "长塘镇天堂村", "450102101001", "activity_unit", 4)
    with pytest.raises(UnitError):
        again.move("450102101001", "x", "", Source(kind="manual"))
    with pytest.raises(UnitError):
        Unit(uuid.uuid4()).change({"name": "x"}, SRC)


def test_task_rules():
    from gx_contracts.divisions import Level
    assert rules.push_target("450000000000", "450103103201", Level.county) == "450103000000"
    assert rules.push_target("450103000000", "450103000000", Level.township) is None
    assert rules.level_above("450103103000") == "450103000000"
    assert rules.level_above("450103000000") == "450100000000"
    with pytest.raises(rules.TaskRuleError):
        rules.level_above("450000000000")
    assert rules.transfer_holder("450102101001") == "450102000000"
    with pytest.raises(rules.TaskRuleError):
        rules.check_push_level("450103103000", Level.county)
