"""The synthetic register: deterministic, valid codes, truth that matches the rows."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from registry_data import DEPARTMENTS, Generator  # noqa: E402

from gx_registry.domain.codes import validate_uscc  # noqa: E402
from gx_registry.domain.names import core  # noqa: E402


def _make(seed=7, department=None):
    g = Generator(seed)
    stock = g.stock(2000)
    return stock, *g.batch(stock, 600, new_start=2000, department=department)


def test_deterministic_for_a_seed():
    assert _make(7)[1] == _make(7)[1]
    assert _make(7)[1] != _make(8)[1]


def test_stock_codes_are_valid_unique_and_names_unique_per_county():
    stock, _, _ = _make()
    codes = [u.uscc for u in stock if u.uscc]
    assert len(codes) == len(set(codes)) and len(codes) > 1500
    assert all(validate_uscc(c).valid for c in codes)
    assert {c[:2] for c in codes} >= {"91", "93", "N2", "12", "11", "51"}
    keys = [(u.county, core(u.name)) for u in stock]
    assert len(keys) == len(set(keys))
    assert any("分公司" in u.name or "营业部" in u.name or "分店" in u.name for u in stock)


def test_batch_truth_matches_its_rows():
    stock, rows, truth = _make()
    by_id = {u.unit_id: u for u in stock}
    assert [t[0] for t in truth] == [r[0] for r in rows]
    kinds = {t[1] for t in truth}
    assert kinds >= {"exact", "changed", "variant_no_uscc", "repeat_no_uscc", "moved", "new"}
    for (_row_no, uscc, name, _county, *_), (_, kind, unit_id, outcome) in zip(rows, truth):
        if kind == "exact":
            assert (uscc, name) == (by_id[unit_id].uscc, by_id[unit_id].name) and outcome == "unchanged"
        elif kind == "variant_no_uscc":
            assert uscc == "" and name != by_id[unit_id].name
        elif kind == "moved":
            assert uscc == by_id[unit_id].uscc and outcome == "changed"
        elif kind == "new":
            assert unit_id == "" and outcome == "new"


def test_a_department_file_carries_its_own_authorities():
    _, rows, _ = _make(department="民政")
    assert {r[1][0] for r in rows if r[1]} <= set(DEPARTMENTS["民政"])
