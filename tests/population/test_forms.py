"""Household and person forms: field rules, cross rules (hard and soft), read-back."""
import copy
import datetime as dt

import pytest

from gx_population.domain import idnumber
from gx_population.domain.forms import available_versions, blocking, load_form, readback, validate

FORM = load_form("2026.1")


def pid(born: dt.date, seq: int) -> str:
    return idnumber.build("450103", born, seq)


def good_household():
    household = {"household_no": "001", "household_type": "1", "persons_at_reference": 3,
                 "births_male": 0, "births_female": 1, "deaths_male": 0, "deaths_female": 0}
    persons = [
        {"name": "韦国强", "relationship": "0", "sex": "1", "birth_year_month": "1985-03",
         "ethnicity": "08", "id_number": pid(dt.date(1985, 3, 12), 31),
         "registration_place": "1", "left_registration_time": "1", "education": "5"},
        {"name": "黄秀兰", "relationship": "1", "sex": "2", "birth_year_month": "1987-07",
         "ethnicity": "01", "id_number": pid(dt.date(1987, 7, 1), 42),
         "registration_place": "4", "left_registration_time": "6",
         "left_registration_reason": "6", "education": "6"},
        {"name": "韦小妹", "relationship": "2", "sex": "2", "birth_year_month": "2026-02",
         "ethnicity": "08", "registration_place": "1", "left_registration_time": "1"},
    ]
    return household, persons


def rules_hit(findings):
    return {(f.rule_id, f.field) for f in findings}


def test_a_good_household_passes():
    h, p = good_household()
    assert validate(FORM, h, p) == []
    assert available_versions() == ["2026.1"]


@pytest.mark.parametrize("change, rule, field, words", [
    (lambda h, p: p[0].update(id_number=p[0]["id_number"][:-1] + "0"
                              if p[0]["id_number"][-1] != "0" else p[0]["id_number"][:-1] + "1"),
     "R01", "persons[0].id_number", "第1人公民身份号码校验码"),
    (lambda h, p: p[0].update(birth_year_month="1985-04"), "R02", "persons[0].birth_year_month",
     "出生年月"),
    (lambda h, p: p[0].update(sex="2"), "R03", "persons[0].sex", "性别"),
    (lambda h, p: p[1].update(id_number=p[0]["id_number"], sex="1", birth_year_month="1985-03"),
     "R05", "persons[1].id_number", "第1人的公民身份号码相同"),
    (lambda h, p: h.update(persons_at_reference=4), "R07", "household.persons_at_reference",
     "本户人数填报为4人"),
    (lambda h, p: p[1].update(relationship="0"), "R08", "persons.relationship", "现有2位"),
    (lambda h, p: p[0].update(relationship="9"), "R08", "persons.relationship", "现有0位"),
    (lambda h, p: (p[2].update(birth_year_month="2026-11")), "R09",
     "persons[2].birth_year_month", "晚于调查标准时点"),
    (lambda h, p: h.update(births_female=0), "R10", "household.births_female", "少于"),
    (lambda h, p: p[1].pop("left_registration_reason"), "R12",
     "persons[1].left_registration_reason", "离开原因未填写"),
    (lambda h, p: p[0].update(left_registration_reason="1"), "R12",
     "persons[0].left_registration_reason", "不应填写"),
    (lambda h, p: p[0].pop("education"), "R16", "persons[0].education", "受教育程度未填写"),
])
def test_hard_rules_block(change, rule, field, words):
    h, p = good_household()
    change(h, p)
    errors = blocking(validate(FORM, h, p))
    hit = [f for f in errors if f.rule_id == rule and f.field == field]
    assert hit, errors
    assert words in hit[0].message
    assert not any(x["name"] in f.message for f in errors for x in p)  # no names echoed
    assert not any(x.get("id_number") and x["id_number"] in f.message for f in errors for x in p)


@pytest.mark.parametrize("change, rule, field", [
    (lambda h, p: p[0].update(id_number=idnumber.build("459999", dt.date(1985, 3, 12), 31)),
     "R04", "persons[0].id_number"),
    (lambda h, p: p[1].pop("id_number"), "R06", "persons[1].id_number"),
    (lambda h, p: h.update(births_male=1), "R11", "household.births_male"),
    (lambda h, p: p[2].update(education="5"), "R13", "persons[2].education"),
    (lambda h, p: (p[1].update(relationship="2", birth_year_month="1984-01"),
                   p[1].pop("id_number")), "R14", "persons[1].birth_year_month"),
    (lambda h, p: (p[0].update(relationship="2"), p[2].update(relationship="0")),
     "R15", "persons[2].relationship"),
])
def test_soft_rules_warn_without_blocking(change, rule, field):
    h, p = good_household()
    change(h, p)
    found = validate(FORM, h, p)
    assert (rule, field) in rules_hit(found)
    assert all(f.severity == "warning" for f in found if f.rule_id == rule)
    assert not [f for f in blocking(found) if f.rule_id == rule]


def test_births_matching_deaths_is_no_warning():
    h, p = good_household()
    h.update(births_male=1, deaths_male=1)  # a boy born and died within the year
    assert validate(FORM, h, p) == []


def test_collective_household_needs_no_head():
    h, p = good_household()
    h["household_type"] = "2"
    for x in p:
        x["relationship"] = "9"
    assert "R08" not in {f.rule_id for f in validate(FORM, h, p)}


@pytest.mark.parametrize("where, value, words", [
    ("household_no", "1", "户编号格式不正确"),
    ("household_type", "3", "户别不是有效的代码"),
    ("persons_at_reference", "3", "应为整数"),
    ("births_male", -1, "应在0～20之间"),
    ("household_no", None, "户编号未填写"),
])
def test_household_field_rules(where, value, words):
    h, p = good_household()
    h[where] = value
    assert any(words in f.message and f.field == f"household.{where}"
               for f in blocking(validate(FORM, h, p)))


@pytest.mark.parametrize("where, value, words", [
    ("birth_year_month", "1985-13", "第1人出生年月应为“年-月”"),
    ("ethnicity", "57", "第1人民族不是有效的代码"),
    ("name", "", "第1人姓名未填写"),
    ("name", "韦" * 41, "不能超过40个字"),
    ("sex", None, "第1人性别未填写"),
])
def test_person_field_rules(where, value, words):
    h, p = good_household()
    p[0][where] = value
    assert any(words in f.message for f in blocking(validate(FORM, h, p)))


def test_readback_in_plain_words():
    h, p = good_household()
    text = readback(FORM, h, p)
    for piece in ("户别：家庭户", "2025年11月1日至2026年10月31日出生人口（女）：1人", "【第1人】",
                  "姓名：韦国强", "与户主关系：户主", "与户主关系：配偶", "性别：女",
                  "出生年月：1985年3月", "民族：壮族", "民族：汉族", "户口登记地：其他县（市、区）",
                  "离开户口登记地时间：三年以上，不满四年",
                  "离开户口登记地原因：婚姻嫁娶", "受教育程度：大学专科", "受教育程度：未填",
                  f"公民身份号码：{p[0]['id_number']}"):
        assert piece in text, piece
    masked = readback(FORM, h, p, mask_id_number=True)
    assert p[0]["id_number"] not in masked and idnumber.mask(p[0]["id_number"]) in masked


def test_form_is_data_and_versioned():
    d = copy.deepcopy(FORM)
    assert d.identifying_fields == ("name", "birth_year_month", "id_number", "registered_address")
    assert FORM.codes["relationship"]["0"] == "户主" and len(FORM.codes["relationship"]) == 10
    assert len([c for c in FORM.codes["ethnicity"] if int(c) <= 56]) == 56
    with pytest.raises(KeyError):
        load_form("1999.1")


def test_every_identifying_form_field_is_sealed_by_default():
    from gx_population.privacy.cipher import IDENTIFYING_FIELDS
    from gx_population.privacy.deidentify import KEPT
    assert set(FORM.identifying_fields) <= set(IDENTIFYING_FIELDS)
    assert not set(FORM.identifying_fields) & set(KEPT)
