"""Two records of one unit in one department batch: reported, never two units."""
import uuid

import duckdb
import pytest

from gx_registry.domain.codes import make_uscc
from gx_registry.matching import duplicates
from gx_registry.matching.engine import decisions, match

Q, H = "450103", "450181"  # 青秀区, 横州市
U1, U2, U3 = (make_uscc("91", Q, f"MA5K{n:04d}") for n in (11, 12, 13))
COLS = "uscc VARCHAR, name VARCHAR, county VARCHAR, address VARCHAR, legal_rep VARCHAR, status VARCHAR"
STOCK = [("S1", U1, "南宁宏达科技有限公司", Q, "青秀区民族大道1号", "张伟", "1")]
BATCH = [
    (2, U1, "南宁宏达科技有限公司", Q, "青秀区民族大道1号", "张伟", "1"),  # the stock's unit
    (3, U1, "南宁宏达科技有限责任公司", Q, "青秀区民族大道1号", "张伟", "1"),  # same USCC again
    (4, "", "南宁市鸿运餐饮有限公司", Q, "青秀区江南路1号", "孙丽", "1"),  # new unit
    (5, "", "南宁市鸿运餐饮有限责任公司", Q, "青秀区江南路1号", "孙丽", "1"),  # same name, normalised
    (6, "", "南宁市鸿运餐饮（有限公司）", H, "横州市横州镇1号", "孙丽", "1"),  # other county: its own
    (7, "", "广西金瑞物流有限公司", Q, "青秀区长湖路7号", "韦强", "1"),  # no code first …
    (8, U2, "广西金瑞物流有限公司", Q, "青秀区长湖路7号", "韦强", "1"),  # … the coded row stands
    (9, U2, "广西金瑞物流有限公司", Q, "青秀区长湖路7号", "韦强", "1"),  # and one more by code
    (10, U3, "南宁同名商贸有限公司", Q, "青秀区桂林路1号", "蒙刚", "1"),  # same name, two codes:
    (11, make_uscc("91", Q, "MA5K0014"), "南宁同名商贸有限公司", Q, "青秀区桂林路2号", "李娜", "1"),
    (12, "", "南宁某某有限公司", "450100", "南宁市某路", "黄勇", "1"),  # placed at the city only
    (13, "", "南宁某某有限公司", "450100", "南宁市某路", "黄勇", "1"),
]


@pytest.fixture(scope="module")
def result():
    con = duckdb.connect()
    con.execute(f"CREATE TABLE stock (unit_id VARCHAR, {COLS})")
    con.execute(f"CREATE TABLE batch (row_no BIGINT, {COLS})")
    con.executemany("INSERT INTO stock VALUES (?, ?, ?, ?, ?, ?, ?)", STOCK)
    con.executemany("INSERT INTO batch VALUES (?, ?, ?, ?, ?, ?, ?)", BATCH)
    match(con)
    n = duplicates.mark(con)
    return n, {d.row_no: d for d in decisions(con)}, duplicates.report(con, uuid.UUID(int=1))


def test_same_uscc_in_the_batch_is_one_unit(result):
    _, d, _ = result
    assert d[2].outcome == "unchanged" and d[2].unit_id == "S1"
    assert (d[3].outcome, d[3].unit_id) == ("duplicate", "S1")
    e = d[3].explanation
    assert (e["rule"], e["duplicate_of_row"]) == ("batch.duplicate_uscc", 2)
    assert "第2行" in e["text"] and "统一社会信用代码相同" in e["text"]
    assert d[2].explanation["in_batch_duplicates"]["rows"] == [3]


def test_same_normalised_name_in_the_county_is_one_new_unit(result):
    _, d, _ = result
    assert d[4].outcome == "new"
    assert (d[5].outcome, d[5].unit_id, d[5].explanation["rule"]) == (
        "duplicate", None, "batch.duplicate_name")
    assert d[4].explanation["in_batch_duplicates"]["rows"] == [5]
    assert d[6].outcome == "new"  # the same name in another county is another unit


def test_the_row_with_a_code_stands_for_the_group(result):
    _, d, _ = result
    assert d[8].outcome == "new"
    assert (d[7].outcome, d[7].explanation["duplicate_of_row"]) == ("duplicate", 8)
    assert (d[9].outcome, d[9].explanation["rule"]) == ("duplicate", "batch.duplicate_uscc")
    assert d[8].explanation["in_batch_duplicates"]["rows"] == [7, 9]


def test_different_codes_or_no_county_are_not_merged_by_name(result):
    _, d, _ = result
    assert d[10].outcome != "duplicate" and d[11].outcome != "duplicate"
    assert d[12].outcome != "duplicate" and d[13].outcome != "duplicate"


def test_repeats_are_reported_with_row_field_and_reason(result):
    n, _, rows = result
    assert n == 4
    assert [(r[1], r[2], r[3]) for r in rows] == [
        (3, "uscc", "batch.duplicate_uscc"), (5, "name", "batch.duplicate_name"),
        (7, "name", "batch.duplicate_name"), (9, "uscc", "batch.duplicate_uscc")]
    assert "与第2行" in rows[0][4] and rows[0][5] == U1


def test_a_batch_without_repeats_changes_nothing():
    con = duckdb.connect()
    con.execute(f"CREATE TABLE stock (unit_id VARCHAR, {COLS})")
    con.execute(f"CREATE TABLE batch (row_no BIGINT, {COLS})")
    con.executemany("INSERT INTO stock VALUES (?, ?, ?, ?, ?, ?, ?)", STOCK)
    con.executemany("INSERT INTO batch VALUES (?, ?, ?, ?, ?, ?, ?)", BATCH[:1] + BATCH[2:3])
    match(con)
    assert duplicates.mark(con) == 0
    out = {d.row_no: d for d in decisions(con)}
    assert [out[2].outcome, out[4].outcome] == ["unchanged", "new"]
    assert "in_batch_duplicates" not in out[4].explanation
