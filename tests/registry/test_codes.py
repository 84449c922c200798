"""USCC (GB 32100-2015), organisation code (GB 11714) and the old 注册号."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gx_registry.domain.codes import (
    ALPHABET,
    AUTHORITIES,
    UNIT_TYPES,
    make_uscc,
    org_check_char,
    uscc_check_char,
    validate_org_code,
    validate_registration_number,
    validate_uscc,
)

PUBLISHED = ("91110000600037341L", "91310110666007217T", "91310115591693856A")


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_samples_are_valid(code):
    r = validate_uscc(code)
    assert r.valid and r.problems == ()
    assert r.authority == "工商（市场监管）" and r.unit_type == "企业"


def test_lower_case_and_spaces_are_accepted():
    assert validate_uscc("  91310110666007217t ").valid


@pytest.mark.parametrize("prefix,label", [("N1", "组级集体经济组织"), ("N2", "村级集体经济组织"),
                                          ("N3", "乡镇级集体经济组织"), ("Y1", "其他")])
def test_n_and_y_codes_are_valid(prefix, label):
    code = make_uscc(prefix, "450181", "MA5K0R2T")
    r = validate_uscc(code)
    assert r.valid, r.problems
    assert r.unit_type == label and r.division == "450181"


@pytest.mark.parametrize("code,problem", [
    ("", "uscc.missing"),
    ("9131011066600721", "uscc.length"),
    ("91310110666OO7217T", "uscc.charset"),  # letter O
    ("91310110666007217S", "uscc.charset"),  # S is not in the alphabet
    ("91310110666007217U", "uscc.check"),
    ("B1310110666007217T", "uscc.authority"),
    ("94310110666007217T", "uscc.unit_type"),
    ("913101AB666007217T", "uscc.division"),
])
def test_invalid_codes_name_the_problem(code, problem):
    r = validate_uscc(code)
    assert not r.valid
    assert problem in {p.code for p in r.problems}
    assert all(p.message for p in r.problems)


def test_embedded_organisation_code_is_checked():
    body = "9131011066600721"  # org code 66600721? with a wrong check digit in position 17
    bad = body + "5"
    code = bad + uscc_check_char(bad)  # USCC check right, org code check wrong
    r = validate_uscc(code)
    assert [p.code for p in r.problems] == ["org_code.check"]
    assert "组织机构代码" in r.problems[0].message


def test_org_code_check_x_and_zero():
    assert org_check_char("D2143569") == "X"  # a textbook GB 11714 example
    assert validate_org_code("D2143569-X") == ()
    assert validate_org_code("D21435691")[0].code == "org_code.check"


def test_division_mismatch_is_a_flag_not_an_error():
    code = make_uscc("91", "450103", "MA5K0R2T")
    r = validate_uscc(code, address_division="450181100000")
    assert r.valid
    assert [(p.code, p.severity) for p in r.problems] == [("division.mismatch", "flag")]
    # A code issued by the city still agrees with a county of that city.
    assert validate_uscc(make_uscc("91", "450100", "MA5K0R2T"), "450103").problems == ()


def test_registration_number():
    assert validate_registration_number("450100000123456") == ()
    assert validate_registration_number(None) == ()
    assert validate_registration_number("45010000012345")[0].code == "regno.format"
    assert validate_registration_number("990100000123456")[0].code == "regno.division"
    flag = validate_registration_number("450100000123456", "451082000000")[0]
    assert (flag.code, flag.severity) == ("division.mismatch", "flag")


def test_tables_are_consistent():
    assert set(ALPHABET).isdisjoint("IOZSV") and len(ALPHABET) == 31
    assert all(t[0] in AUTHORITIES for t in UNIT_TYPES)


_types = st.sampled_from(sorted(UNIT_TYPES))
_body = st.tuples(_types, st.text("0123456789", min_size=6, max_size=6),
                  st.text(ALPHABET, min_size=8, max_size=8))


@settings(max_examples=300, deadline=None)
@given(_body)
def test_any_generated_code_validates(parts):
    assert validate_uscc(make_uscc(*parts)).valid


@settings(max_examples=300, deadline=None)
@given(_body, st.integers(0, 17), st.sampled_from(ALPHABET))
def test_any_single_character_change_fails(parts, pos, char):
    code = make_uscc(*parts)
    if code[pos] == char:
        char = ALPHABET[(ALPHABET.index(char) + 1) % 31]
    changed = code[:pos] + char + code[pos + 1:]
    assert not validate_uscc(changed).valid
