"""Division-code rules against the real Guangxi reference table (NBS 2023)."""

from collections import Counter

import pytest

from gx_contracts.divisions import (
    REGION_CODE,
    Level,
    ancestor_at,
    contains,
    is_valid_code,
    level_of,
    load_divisions,
    prefix_of,
    reference_csv_path,
)


@pytest.fixture(scope="module")
def divisions():
    return load_divisions()


def test_reference_csv_ships_with_its_attribution():
    path = reference_csv_path()
    readme = path.with_name("guangxi_divisions.README.txt").read_text(encoding="utf-8")
    assert "Vonng/adcode, CC BY 4.0" in readme


def test_counts_per_level(divisions):
    counts = Counter(d.level for d in divisions.values())
    assert counts == {
        Level.region: 1,
        Level.city: 14,
        Level.county: 111,
        Level.township: 1284,
        Level.village: 16681,
    }


def test_level_of_agrees_with_the_csv_for_every_row(divisions):
    wrong = [d for d in divisions.values() if level_of(d.code) != d.level]
    assert wrong == []


def test_parent_is_the_ancestor_one_level_up(divisions):
    levels = list(Level)
    for d in divisions.values():
        if d.level is Level.region:
            assert d.parent_code is None
            continue
        parent_level = levels[levels.index(d.level) + 1]
        assert d.parent_code == ancestor_at(d.code, parent_level), d
        assert d.parent_code in divisions


def test_every_code_is_valid_and_inside_guangxi(divisions):
    assert all(is_valid_code(c) and contains(REGION_CODE, c) for c in divisions)


def test_ancestor_chain_of_a_village(divisions):
    v = "450103103201"  # 天堂村委会, 长塘镇, 青秀区, 南宁市
    assert divisions[v].name == "天堂村委会"
    assert ancestor_at(v, Level.village) == v
    assert ancestor_at(v, Level.township) == "450103103000"
    assert ancestor_at(v, "county") == "450103000000"
    assert ancestor_at(v, Level.city) == "450100000000"
    assert ancestor_at(v, Level.region) == REGION_CODE
    assert [divisions[ancestor_at(v, lv)].name for lv in list(Level)[1:]] == [
        "长塘镇", "青秀区", "南宁市", "广西壮族自治区"
    ]
    with pytest.raises(ValueError):
        ancestor_at("450103000000", Level.township)


@pytest.mark.parametrize(
    ("code", "level", "prefix"),
    [
        ("450000000000", Level.region, "45"),
        ("450100000000", Level.city, "4501"),
        ("450103000000", Level.county, "450103"),
        ("450103103000", Level.township, "450103103"),
        ("450103103201", Level.village, "450103103201"),
    ],
)
def test_level_and_prefix(code, level, prefix):
    assert level_of(code) is level
    assert prefix_of(code) == prefix
    assert len(prefix) == level.prefix_len


def test_contains_by_code_or_prefix():
    assert contains("450103103000", "450103103201")
    assert contains("450103", "450103103201")
    assert contains("45", "450103103201")
    assert contains("450103103201", "450103103201")
    assert not contains("450103100000", "450103103201")  # 刘圩镇 does not hold 天堂村
    assert not contains("4501031", "450103103201")  # 7 digits is no jurisdiction prefix
    assert not contains("450103103000", "bad")


@pytest.mark.parametrize("bad", ["", "45", "4501031032011", "45010310320a", "050103103201", None, 450103103201])
def test_invalid_codes(bad):
    assert not is_valid_code(bad)
    if isinstance(bad, str):
        with pytest.raises(ValueError, match="12位数字"):
            level_of(bad)


def test_level_labels():
    assert [lv.label_zh for lv in Level] == ["村", "乡镇", "县", "市", "自治区"]
    assert [lv.csv_level for lv in Level] == [5, 4, 3, 2, 1]
