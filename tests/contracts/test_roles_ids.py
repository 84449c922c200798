from uuid import uuid4

from gx_contracts.divisions import Level, contains, is_valid_code, level_of, load_divisions
from gx_contracts.ids import case_id_for, id_of_stream, report_id_for, stream_id
from gx_contracts.roles import (
    DEMO_PASSWORD,
    DEMO_USERS,
    LEVEL_OF_ROLE,
    REVIEWER_ROLE_FOR_LEVEL,
    Role,
)


def test_role_labels_and_mappings():
    assert Role.village_coordinator.label_zh == "村级统计协管员"
    assert Role.subscriber.label_zh == "其他系统"
    assert set(REVIEWER_ROLE_FOR_LEVEL) == {Level.township, Level.county, Level.city, Level.region}
    for level, role in REVIEWER_ROLE_FOR_LEVEL.items():
        assert LEVEL_OF_ROLE[role] is level
    assert Role.ops not in LEVEL_OF_ROLE and Role.subscriber not in LEVEL_OF_ROLE


def test_demo_users_exist_in_the_reference_table():
    divisions = load_divisions()
    assert DEMO_PASSWORD == "Demo@2026"
    assert len({u["username"] for u in DEMO_USERS}) == len(DEMO_USERS) == 10
    for u in DEMO_USERS:
        role = Role(u["role"])
        assert is_valid_code(u["division"]) and u["division"] in divisions
        if role in LEVEL_OF_ROLE:
            assert level_of(u["division"]) is LEVEL_OF_ROLE[role], u
    by_name = {u["username"]: u for u in DEMO_USERS}
    assert contains(by_name["changtang_zhen"]["division"], by_name["tiantang_cun"]["division"])
    assert not contains(by_name["liuxu_zhen"]["division"], by_name["dingxi_cun"]["division"])


def test_deterministic_ids():
    task = uuid4()
    assert report_id_for(task, "450103103201") == report_id_for(str(task), "450103103201")
    assert report_id_for(task, "450103103201") != report_id_for(task, "450103103202")
    rid = report_id_for(task, "450103103201")
    assert case_id_for("agri.report", rid) == case_id_for("agri.report", str(rid))
    assert case_id_for("agri.report", rid) != case_id_for("population.household", rid)
    assert id_of_stream(stream_id("report", rid)) == rid
