"""County by the address parser cpca (pinned 0.5.5) with the overlay for the 2018–2021 renames
its data misses, then our own matcher; the rule that fired is kept with the placement."""
import importlib.metadata

import pytest

from gx_registry.domain.county_parser import CPCA_RENAMES, parse_county
from gx_registry.domain.placement import _tree, place


def test_cpca_is_the_pinned_version():
    # county_parser calls the per-address function behind cpca.transform: pinned on purpose
    assert importlib.metadata.version("cpca") == "0.5.5"


@pytest.mark.parametrize("address,county,rule", [
    # old names: cpca knows them under their old codes; the overlay gives the current code
    ("南宁市横县横州镇太平村", "450181000000", "cpca.county+rename"),
    ("百色市平果县马头镇城东社区", "451082000000", "cpca.county+rename"),
    ("桂林市荔浦县荔城镇城北社区", "450381000000", "cpca.county+rename"),
    ("百色市田阳县田州镇", "451003000000", "cpca.county+rename"),
    # new names: cpca's data stops at the city; our matcher of the current tree finds them
    ("广西南宁市横州市横州镇太平村委会迎宾路8号", "450181000000", "own.county_name(cpca.city_only)"),
    ("广西百色市平果市马头镇城东社区", "451082000000", "own.county_name(cpca.city_only)"),
    ("桂林市荔浦市荔城镇城北社区", "450381000000", "own.county_name(cpca.city_only)"),
    ("百色市田阳区田州镇", "451003000000", "own.county_name(cpca.city_only)"),
    # unchanged counties: cpca alone
    ("南宁市青秀区新竹街道思贤社区民族大道100号", "450103000000", "cpca.county"),
    # a district name alone that exists elsewhere in China (西宁市城中区): ours
    ("城中区文惠路1号", "450202000000", "cpca.county"),
])
def test_county_rule_is_kept_with_the_placement(address, county, rule):
    p = place(address)
    assert p.code[:6] + "000000" == county, p
    assert p.county_rule == rule
    assert p.as_dict()["county_rule"] == rule


def test_renamed_villages_placed_below_the_new_county():
    # the full chain through the renamed county: township and village by our matcher
    assert place("南宁市横县横州镇太平村").code == "450181100203"
    assert place("百色市平果县马头镇城东社区人民路1号").code == "451082100001"


def test_overlay_codes_are_current_counties_and_old_codes_are_not():
    tree = _tree().divisions
    for old, new in CPCA_RENAMES.items():
        assert new + "000000" in tree and tree[new + "000000"].level.value == "county"
        assert old + "000000" not in tree


def test_parser_outside_guangxi_and_empty():
    known = _tree().divisions.__contains__
    assert parse_county("北京市朝阳区建国路1号", known).rule == "cpca.outside"
    assert parse_county("", known).rule == "cpca.none"
    # outside Guangxi: nothing placed below the region, the reason said
    p = place("北京市朝阳区建国路1号")
    assert p.code == "450000000000" and p.reason_code == "unplaced.county"
    assert p.county_rule == "own.county_name(cpca.outside)"


def test_code_placement_has_no_county_rule():
    assert "county_rule" not in place("桂林市某某路", "450181100203").as_dict()
