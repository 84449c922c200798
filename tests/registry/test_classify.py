"""Classification: legal person vs activity unit (with parent) and type, rules as data."""

import pytest

from gx_registry.domain.classify import ACTIVITY_UNIT, LEGAL_PERSON, classify, load_rules
from gx_registry.domain.codes import make_uscc


@pytest.mark.parametrize("prefix,unit_type", [
    ("91", "企业"), ("12", "事业单位"), ("11", "机关"), ("51", "社会团体"), ("52", "民办非企业单位"),
    ("53", "基金会"), ("71", "宗教活动场所"), ("93", "农民专业合作社"), ("N2", "农村集体经济组织"),
])
def test_type_from_uscc(prefix, unit_type):
    c = classify("某某单位", make_uscc(prefix, "450103", "MA5K0R2T"))
    rule = "uscc.N" if prefix.startswith("N") else f"uscc.{prefix}"
    assert (c.unit_type, c.type_rule, c.unit_kind) == (unit_type, rule, LEGAL_PERSON)


def test_individual_household_by_code():
    c = classify("横州市张伟小吃店", make_uscc("92", "450181", "MA5K0R2T"))
    assert (c.unit_kind, c.unit_type, c.type_rule) == ("个体经营户", "个体工商户", "uscc.92")


@pytest.mark.parametrize("name,unit_type,rule", [
    ("南宁市青秀区人民政府", "机关", "name.organ"),
    ("南宁市青秀区新竹街道办事处", "机关", "name.organ"),
    ("广西壮族自治区慈善基金会", "基金会", "name.foundation"),
    ("南宁市软件行业协会", "社会团体", "name.society"),
    ("横州市宏达种植专业合作社", "农民专业合作社", "name.coop"),
    ("横州市横州镇太平村股份经济合作社", "农村集体经济组织", "name.collective"),
    ("平果市福音堂", "宗教活动场所", "name.religion"),
    ("荔浦市小太阳幼儿园", "民办非企业单位", "name.private_nonprofit"),
    ("田阳区人民医院", "事业单位", "name.institution"),
    ("广西鑫源贸易有限责任公司", "企业", "name.enterprise"),
    ("无法识别", "其他", "default"),
])
def test_type_from_name(name, unit_type, rule):
    c = classify(name)
    assert (c.unit_type, c.type_rule) == (unit_type, rule)
    assert c.unit_kind == LEGAL_PERSON  # 街道办事处 is an organ, not a branch
    assert c.rules_version == load_rules().version


def test_branch_is_an_activity_unit_under_its_parent():
    parents = {"广西鑫源贸易有限公司": "U1"}
    c = classify("广西鑫源贸易有限责任公司南宁分公司", parents=parents)
    assert (c.unit_kind, c.kind_rule, c.parent_name, c.parent_id) == (
        ACTIVITY_UNIT, "kind.branch_name", "广西鑫源贸易有限公司", "U1")
    assert c.unit_type == "企业"
    # The branch drops the region prefix: the parent is still found.
    c = classify("鑫源贸易有限公司横州营业部", parents=parents)
    assert (c.parent_id, c.parent_name) == ("U1", "广西鑫源贸易有限公司")


def test_bank_branch_takes_its_parents_type():
    c = classify("中国农业银行股份有限公司南宁分行")
    assert (c.unit_kind, c.unit_type, c.parent_name) == (ACTIVITY_UNIT, "企业", "中国农业银行股份公司")


def test_branch_without_known_parent_keeps_no_id():
    c = classify("广西宏达科技有限公司横州分公司", parents={})
    assert c.unit_kind == ACTIVITY_UNIT and c.parent_id is None
    assert c.as_dict()["kind_rule"] == "kind.branch_name"
