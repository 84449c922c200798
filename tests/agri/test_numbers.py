"""Bounded arithmetic: any stored number rounds and prints; rules never meet an absurd value."""
from decimal import Decimal

from gx_agri.domain import numbers
from gx_agri.domain.catalogue import default_catalogue
from gx_agri.domain.resubmit import answer_notes
from gx_agri.domain.rules import blocking, input_problems, validate

A301 = default_catalogue().get("A301", 2)


def test_rounded_is_exact_in_range_and_bounded_beyond():
    assert numbers.rounded(Decimal("1234.45"), 1) == 1234.4  # half-even, as before
    assert numbers.rounded(Decimal("333563000000000.25"), 2) == 333563000000000.25
    assert numbers.rounded(Decimal("468000.0"), 0) == 468000
    assert numbers.rounded(Decimal("1E+30") + 3000, 1) == 1e30  # beyond 28 digits: no error
    assert numbers.rounded(Decimal("1E+300"), 2) == 1e300
    assert numbers.rounded(Decimal("1E+400"), 0) is None  # no float holds it
    assert numbers.rounded(Decimal("NaN"), 1) is None and numbers.rounded(True, 0) is None
    assert numbers.text(1e30, 1) == "1.000000E+30"
    assert numbers.text(2600, 1) == "2600.0" and numbers.text(None, 1) == ""


def test_out_of_range_values_are_errors_and_other_rules_skip_them():
    values = {"crop_area": 1e30, "grain_area": 2600, "early_rice_area": 1200,
              "early_rice_output": 1e300}
    found = validate(A301, values, {}, previous={"early_rice_area": 1e-30})
    bad = {f.indicator for f in found if f.kind == "physical_range"}
    assert bad == {"crop_area", "early_rice_output"}
    assert all(f.kind == "physical_range" for f in found if f.indicator in bad)
    assert {f.indicator for f in blocking(found)} >= bad
    msg = next(f.message for f in found if f.indicator == "crop_area")
    assert msg == "农作物总播种面积（亩）超出取值范围 0～10000000，填报值为 1.000000E+30"
    problems = dict(input_problems(A301, {"crop_area": -0.5, "maize_output": 3e10}, {}))
    assert "0～10000000" in problems["values.crop_area"]
    assert "玉米产量（公斤）" in problems["values.maize_output"]


def test_a_note_is_answered_by_a_change_or_a_new_explanation():
    before = {"maize_area": 300, "maize_output": 90000}
    notes = {"maize_area": "核实面积", "maize_output": "核实产量"}
    a = answer_notes(notes, before, {"maize_area": "旧说明"}, {**before, "maize_output": 90000.0},
                     {"maize_area": "旧说明"})
    assert a.changed == [] and a.unanswered == ["maize_area", "maize_output"]
    a = answer_notes(notes, before, {}, {**before, "maize_output": 91000},
                     {"maize_area": "经核实无误"})
    assert a.changed == ["maize_output"] and a.answered == {"maize_area": "经核实无误"}
    assert a.unanswered == []
