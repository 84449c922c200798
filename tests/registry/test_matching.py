"""Matching outcomes and their explanations on a small constructed stock and batch."""

import itertools

import duckdb
import pytest

from gx_registry.domain.codes import make_uscc
from gx_registry.matching.engine import decisions, match

Q = "450103"  # 青秀区
U1 = make_uscc("91", Q, "MA5K0001")
U4 = make_uscc("91", Q, "MA5K0004")
U9 = make_uscc("91", Q, "MA5K0009")
COLS = "uscc VARCHAR, name VARCHAR, county VARCHAR, address VARCHAR, legal_rep VARCHAR, status VARCHAR"

STOCK = [
    ("S1", U1, "南宁宏达科技有限公司", Q, "青秀区民族大道1号", "张伟", "1"),
    ("S2", "", "广西鑫源贸易有限责任公司", Q, "青秀区东葛路2号", "李娜", "1"),
    ("S3", "", "南宁市华南科技有限公司", Q, "青秀区金湖路3号", "王芳", "1"),
    ("S4", U4, "南宁市华东科技有限公司", Q, "青秀区金湖路9号", "刘洋", "1"),
    ("S5", "", "恒通商贸有限公司", Q, "青秀区长湖路5号", "陈静", "1"),
    ("S6", "", "恒通商贸有限公司", "450181", "横州市横州镇人民路5号", "黄勇", "1"),
    ("S7", "", "青秀区永安餐饮有限公司", Q, "青秀区朝阳路7号", "周杰", "1"),
    ("S8", "", "南宁永安餐饮有限公司", Q, "青秀区朝阳路17号", "吴军", "1"),
    ("S9", "", "南宁市桂邕物流有限公司", Q, "青秀区桂林路9号", "蒙刚", "1"),
] + [(f"F{i}", "", f"南宁{a}{b}科技有限公司", Q, f"青秀区滨江路{i}号", f"赵{a}{b}", "1")
     # filler, so that term frequencies are those of a county, not of eight units
     for i, (a, b) in enumerate(itertools.product("金瑞泰丰隆昌盛兴", "嘉和利德信诚明辉耀光"))]

BATCH = [
    (1, U1, "南宁宏达科技有限公司", Q, "青秀区民族大道1号", "张伟", "1"),  # unchanged by USCC
    (2, U1, "南宁宏达科技有限公司", Q, "青秀区民族大道88号", "张伟", "2"),  # changed by USCC
    (3, "", "鑫源贸易有限公司", Q, "青秀区东葛路2号", "李娜", "1"),  # name variant, same unit
    (4, "", "南宁市华南科枝有限公司", Q, "青秀区金湖路3号", "王芳", "1"),  # one-character typo
    (5, "", "南宁市鸿运餐饮有限公司", Q, "青秀区江南路1号", "孙丽", "1"),  # new
    (6, "", "恒通商贸有限公司", Q, "青秀区长湖路5号", "陈静", "1"),  # exact name, same county only
    (7, U9, "南宁市华东科技有限公司", Q, "青秀区金湖路9号", "刘洋", "1"),  # S4's name, other USCC
    (8, "", "永安餐饮有限公司", Q, "", "", "1"),  # two stock units share the core name
    (9, "", "南宁市华南科贸有限公司", Q, "青秀区某路1号", "郑华", "1"),  # same brand, nothing else
    (10, U9, "南宁市桂邕物流有限公司", Q, "青秀区桂林路9号", "蒙刚", "1"),  # USCC now known
]


@pytest.fixture(scope="module")
def result():
    con = duckdb.connect()
    con.execute(f"CREATE TABLE stock (unit_id VARCHAR, {COLS})")
    con.execute(f"CREATE TABLE batch (row_no BIGINT, {COLS})")
    con.executemany("INSERT INTO stock VALUES (?, ?, ?, ?, ?, ?, ?)", STOCK)
    con.executemany("INSERT INTO batch VALUES (?, ?, ?, ?, ?, ?, ?)", BATCH)
    match(con)
    return {d.row_no: d for d in decisions(con)}


def test_exact_uscc_unchanged(result):
    d = result[1]
    assert (d.outcome, d.unit_id, d.explanation["rule"]) == ("unchanged", "S1", "uscc.exact")
    assert "统一社会信用代码" in d.explanation["text"]


def test_exact_uscc_changed_names_the_fields(result):
    d = result[2]
    assert (d.outcome, d.unit_id) == ("changed", "S1")
    assert set(d.changed_fields) == {"address", "status"}
    assert d.explanation["changed_fields"] == ["详细地址", "运营状态"]


def test_name_variant_without_uscc_is_the_same_unit(result):
    d = result[3]
    assert (d.outcome, d.unit_id, d.changed_fields) == ("changed", "S2", ("name",))
    e = d.explanation
    assert e["rule"] == "fuzzy.match_weight" and e["fields"]["name"]["level"] == "core_exact"
    assert e["match_weight"] >= e["thresholds"]["same"]
    assert "判定为同一单位" in e["text"]


def test_typo_is_linked_by_name_address_and_legal_rep(result):
    d = result[4]
    assert (d.outcome, d.unit_id) == ("changed", "S3")
    f = d.explanation["fields"]
    assert f["name"]["level"] in ("similar", "high") and 0.85 <= f["name"]["similarity"] < 1
    assert f["address"]["level"] == "exact" and f["legal_rep"]["level"] == "exact"


def test_new_unit_explains_why(result):
    d = result[5]
    assert (d.outcome, d.unit_id) == ("new", None)
    assert d.explanation["rule"] == "no_candidate"
    assert "判定为新增单位" in d.explanation["text"]


def test_exact_name_matches_within_the_county_only(result):
    d = result[6]
    assert (d.outcome, d.unit_id, d.explanation["rule"]) == ("unchanged", "S5", "name.exact_in_county")
    assert d.explanation["candidates"] == 1  # S6 (横州市) was never a candidate


def test_conflicting_uscc_is_not_linked(result):
    d = result[7]
    assert (d.outcome, d.unit_id) == ("ambiguous", None)
    assert "统一社会信用代码不同" in d.explanation["text"]
    assert d.explanation["fields"]["uscc"]["level"] == "conflict"
    assert d.explanation["fields"]["uscc"]["weight"] < 0


def test_two_equally_good_candidates_are_ambiguous(result):
    d = result[8]
    assert (d.outcome, d.unit_id) == ("ambiguous", None)
    e = d.explanation
    assert e["runner_up"] is not None and e["candidates"] >= 2
    assert "人工判定" in e["text"]


def test_near_name_with_nothing_else_in_common_is_new(result):
    d = result[9]
    assert d.outcome == "new", d.explanation
    e = d.explanation
    assert e["rule"] == "fuzzy.match_weight" and e["match_weight"] < e["thresholds"]["review"]
    assert "低于复核阈值" in e["text"]


def test_a_newly_known_uscc_is_a_change(result):
    d = result[10]
    assert (d.outcome, d.unit_id, d.changed_fields) == ("changed", "S9", ("uscc",))
    assert d.explanation["changed_fields"] == ["统一社会信用代码"]


def test_every_row_has_one_decision_with_an_explanation(result):
    assert sorted(result) == [r[0] for r in BATCH]
    assert all(d.explanation["text"] and d.explanation["rule"] for d in result.values())
