"""Placement from a division code or a detailed address, against the real division tree."""

import pytest

from gx_contracts.divisions import Level

from gx_registry.domain.placement import place


@pytest.mark.parametrize("address,code,level,reason", [
    ("广西壮族自治区南宁市横州市横州镇太平村委会迎宾路8号", "450181100203", Level.village, "placed.village"),
    ("南宁市横县横州镇太平村", "450181100203", Level.village, "placed.village"),  # old county name
    ("百色市平果县马头镇城东社区人民路1号", "451082100001", Level.village, "placed.village"),
    ("桂林市荔浦县荔城镇城北社区", "450381100001", Level.village, "placed.village"),
    ("南宁市青秀区新竹街道思贤社区民族大道100号", "450103001006", Level.village, "placed.village"),
    ("广西南宁市青秀区新竹路8号", "450103000000", Level.county, "unplaced.township"),
    ("百色市田阳县某某工业园", "451003000000", Level.county, "unplaced.township"),
    ("钦州市钦南区钦州港经济技术开发区中马大街", "450702401000", Level.township, "unplaced.village"),
    ("柳州市柳城县冲脉镇冲脉社区建设路104号", "450222107001", Level.village, "placed.village"),
    # 冲脉 alone is both 冲脉社区 and 冲脉村: stays at the township for a person to place.
    ("柳州市柳城县冲脉镇冲脉建设路104号", "450222107000", Level.township, "unplaced.village"),
    ("桂林市某某路", "450300000000", Level.city, "unplaced.county"),
    ("某某路1号", "450000000000", Level.region, "unplaced.county"),
])
def test_place_by_address(address, code, level, reason):
    p = place(address)
    assert (p.code, p.level, p.reason_code, p.source) == (code, level, reason, "address")
    assert p.reason


def test_county_short_name_inside_the_city_name_is_not_taken():
    # 防城 (防城区) is inside 防城港市; the county is 港口区.
    assert place("防城港市港口区某某路1号").code == "450602000000"


def test_village_without_township_is_placed_when_unique_in_county():
    p = place("南宁市横州市曹村村委会")
    assert (p.code, p.reason_code) == ("450181100211", "placed.village_only")


def test_code_wins_over_address_and_a_bad_code_falls_back():
    assert place("桂林市某某路", "450181100203").as_dict()["reason_code"] == "placed.code"
    p = place("南宁市横州市横州镇", "450181999999")
    assert (p.code, p.level) == ("450181100000", Level.township)
    assert "区划代码无效" in p.reason
