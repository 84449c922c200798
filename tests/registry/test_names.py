"""Name normalisation, in Python and in DuckDB SQL (the bulk path) alike."""

import duckdb
import pytest

from gx_registry.domain.names import (
    core,
    core_sql,
    distinctive,
    is_branch_name,
    normalise,
    normalise_sql,
)

CASES = [
    # raw, normalised, core
    ("南宁宏达科技有限责任公司", "南宁宏达科技有限公司", "宏达科技"),
    ("广西壮族自治区南宁市宏达科技有限公司", "广西壮族自治区南宁市宏达科技有限公司", "宏达科技"),
    ("【南宁】宏达　科技有限公司", "(南宁)宏达科技有限公司", "宏达科技"),
    ("〔横州〕鑫源贸易股份有限公司", "(横州)鑫源贸易股份公司", "鑫源贸易"),
    ("横州市ＡＢＣ商贸有限公司（分店）", "横州市ABC商贸有限公司(分店)", "ABC商贸"),
    ("横县「永安」食品厂", "横县(永安)食品厂", "食品厂"),
    ("平果市华盛建材有限公司", "平果市华盛建材有限公司", "华盛建材"),
    ("广西鑫源贸易有限责任公司南宁分公司", "广西鑫源贸易有限公司南宁分公司", "鑫源贸易有限公司南宁分公司"),
    ("南宁市青秀区人民政府", "南宁市青秀区人民政府", "人民政府"),
    (" 桂林 漓江 旅游 有限公司 ", "桂林漓江旅游有限公司", "漓江旅游"),
]


@pytest.mark.parametrize("raw,norm,core_name", CASES)
def test_normalise_and_core(raw, norm, core_name):
    assert normalise(raw) == norm
    assert core(raw) == core_name


def test_sql_form_agrees_with_python():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (name VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[c[0]] for c in CASES] + [[None]])
    rows = con.execute(f"SELECT name, {normalise_sql('name')} AS n, "
                       f"{core_sql(normalise_sql('name'))} AS c FROM t").fetchall()
    for name, n, c in rows:
        assert (n, c) == (normalise(name), core(name)), name


def test_branch_is_a_feature_and_common_words_are_not_distinctive():
    assert is_branch_name("广西鑫源贸易有限公司南宁分公司")
    assert not is_branch_name("广西鑫源贸易有限公司")
    assert distinctive("宏达科技") == "宏达"
    assert distinctive("华南商贸") == "华南"
