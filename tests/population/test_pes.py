"""Post-enumeration check on a constructed case with known omissions, duplicates and errors."""
import datetime as dt
from fractions import Fraction as F

import pytest

from gx_population.domain import idnumber
from gx_population.domain.pes import (
    BY_ID,
    BY_NAME,
    PesPerson,
    coverage,
    draw_sample,
    formulas_text,
    match,
)


def pid(i: int) -> str:
    return idnumber.build("450103", dt.date(1980, 1, 1) + dt.timedelta(days=i), i % 1000)


def person(rid, area, i, *, with_id=True, name=None, sex="1", birth=None):
    born = (dt.date(1980, 1, 1) + dt.timedelta(days=i)).isoformat()[:7]
    return PesPerson(rid, area, pid(i) if with_id else None, name or f"人{i}", sex,
                     birth or born)


def case():
    enum, check = [], []
    # area A: a1..a10 real; a11 repeats a3's ID; a12 died before 1 Nov; a13 has no data
    for i in range(1, 11):
        enum.append(person(f"a{i}", "A", i))
    enum.append(person("a11", "A", 3))
    enum.append(person("a12", "A", 12))
    enum.append(PesPerson("a13", "A", None, None, None, None))
    for i in range(1, 9):
        check.append(person(f"qa{i}", "A", i))
    check.append(person("qa9", "A", 9, with_id=False))  # matched by name + sex + birth
    check.append(person("qa10", "A", 10, with_id=False, name=" 人 10 "))  # spaces ignored
    check.append(person("qa-omitted", "A", 50))
    # area B: b4 and b5 share name, sex and birth (different IDs)
    for i in range(1, 4):
        enum.append(person(f"b{i}", "B", 100 + i))
    enum.append(person("b4", "B", 104, name="韦一", birth="1990-05"))
    enum.append(person("b5", "B", 105, name="韦一", birth="1990-05"))
    for i in range(1, 4):
        check.append(person(f"qb{i}", "B", 100 + i))
    check.append(person("qb4", "B", 0, with_id=False, name="韦一", birth="1990-05"))
    check.append(person("qb5", "B", 0, with_id=False, name="韦一", birth="1990-05"))
    check.append(person("qb-omitted", "B", 150))
    # a check person with another ID but the same name as b1 is not b1
    check.append(person("qb-other", "B", 160, name="人101", birth=enum[13].birth))
    return enum, check


def test_matching_decisions_are_recorded():
    enum, check = case()
    m = match(enum, check)
    d = {x.check_id: x for x in m.decisions}
    assert len(m.decisions) == len(check)
    assert (d["qa1"].enumeration_id, d["qa1"].method) == ("a1", BY_ID)
    assert (d["qa9"].enumeration_id, d["qa9"].method) == ("a9", BY_NAME)
    assert d["qa10"].enumeration_id == "a10"
    assert d["qa-omitted"].enumeration_id is None and "漏登" in d["qa-omitted"].reason
    assert d["qb4"].enumeration_id is None and "2条" in d["qb4"].reason
    assert d["qb-other"].enumeration_id is None
    assert m.duplicates == {"a11"} and m.insufficient == {"a13"}


def test_exact_rates_per_area_and_overall():
    enum, check = case()
    per_area, total = coverage(enum, check, match(enum, check), erroneous={"a12"})
    a, b = per_area
    assert (a.C, a.II, a.E, a.CE, a.P, a.M) == (13, 1, 12, 10, 11, 10)
    assert a.omission_rate == F(1, 11)
    assert a.erroneous_inclusion_rate == F(1, 6)
    assert a.dse_simple == F(143, 10)
    assert a.dse == 11
    assert a.net_coverage_error == F(-2, 11)
    assert (b.C, b.II, b.E, b.CE, b.P, b.M) == (5, 0, 5, 5, 7, 3)
    assert b.omission_rate == F(4, 7) and b.erroneous_inclusion_rate == 0
    assert b.dse == F(35, 3) and b.net_coverage_error == F(20, 35)
    assert (total.C, total.II, total.E, total.CE, total.P, total.M) == (18, 1, 17, 15, 18, 13)
    assert total.dse == F(17) * F(15, 17) * F(18, 13)
    assert total.net_coverage_error == (total.dse - 18) / total.dse
    row = total.as_dict()
    assert row["omission_rate"] == round(5 / 18, 6) and row["area_code"] is None


def test_match_to_an_erroneous_record_does_not_count():
    enum = [person("e1", "A", 1), person("e2", "A", 2)]
    check = [person("q1", "A", 1), person("q2", "A", 2)]
    (a,), _ = coverage(enum, check, match(enum, check), erroneous={"e2"})
    assert (a.M, a.CE, a.omission_rate) == (1, 1, F(1, 2))


def test_no_match_leaves_estimates_undefined():
    (a,), total = coverage([], [person("q1", "A", 1)], match([], [person("q1", "A", 1)]))
    assert a.omission_rate == 1 and a.dse is None and a.net_coverage_error is None


def test_sample_is_reproducible_from_its_seed():
    frame = [f"4501030010{i:02d}" for i in range(40)]
    s1 = draw_sample(frame, 8, seed="2026-pes")
    s2 = draw_sample(list(reversed(frame)), 8, seed="2026-pes")
    assert s1 == s2 and len(set(s1.areas)) == 8 and set(s1.areas) <= set(frame)
    assert draw_sample(frame, 8, seed="other").areas != s1.areas
    fresh = draw_sample(frame, 8)
    assert draw_sample(frame, 8, seed=fresh.seed) == fresh
    with pytest.raises(ValueError):
        draw_sample(frame, 41)


def test_formulas_text_names_every_measure():
    text = formulas_text()
    for piece in ("1 − M / P", "1 − CE / E", "C · P / M", "(C − II) · (CE / E) · (P / M)",
                  "(DSE − C) / DSE", "II："):
        assert piece in text


def test_different_id_numbers_never_match_by_name():
    enum = [person("e1", "A", 1, name="李四", birth="1990-01")]
    other = person("q1", "A", 2, name="李四", birth="1990-01")
    assert match(enum, [other]).decisions[0].enumeration_id is None
    no_id = person("q2", "A", 2, with_id=False, name="李四", birth="1990-01")
    assert match(enum, [no_id]).decisions[0].enumeration_id == "e1"


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(deadline=None, max_examples=60)
@given(st.integers(1, 60), st.data())
def test_known_omissions_and_duplicates_give_exact_rates(n, data):
    people = [person(f"e{i}", f"A{i % 3}", i, with_id=data.draw(st.booleans()))
              for i in range(n)]
    omitted = set(data.draw(st.sets(st.integers(0, n - 1), max_size=n - 1)))
    doubled = data.draw(st.sets(st.integers(0, n - 1)).map(lambda s: s - omitted))
    enum = [p for i, p in enumerate(people) if i not in omitted]
    enum += [PesPerson(f"d{i}", *[getattr(people[i], f) for f in
                                  ("area_code", "id_number", "name", "sex", "birth")])
             for i in sorted(doubled)]
    check = [PesPerson(f"q{i}", p.area_code, p.id_number, p.name, p.sex, p.birth)
             for i, p in enumerate(people)]
    _, total = coverage(enum, check, match(enum, check))
    assert (n, n - len(omitted), n - len(omitted) + len(doubled)) == (total.P, total.M, total.C)
    assert total.omission_rate == F(len(omitted), n)
    assert total.erroneous_inclusion_rate == F(len(doubled), total.C)
    assert total.dse == n  # the check is complete here, so the estimate is the truth
