"""Department records: mappings, per-row checks (Chinese reasons), streamed CSV/XLSX reading."""
import io

import openpyxl
import pytest

from gx_registry.adapters import files
from gx_registry.domain import records
from gx_registry.domain.codes import make_uscc

pytestmark = pytest.mark.unit
GOOD = make_uscc("91", "450103", "MA5K0001")


def test_every_department_of_annex_2_has_a_mapping():
    assert set(records.departments()) == {"编制", "民政", "市场监管", "税务", "司法", "宗教", "农业农村"}
    assert records.mapping_for("市场监管").version == 1
    assert records.mapping_for("市场监管", 99) is None


def test_headers_resolve_by_alias_and_width():
    m = records.mapping_for("税务")
    cols, missing = records.resolve_headers(m, ["纳税人识别号", "纳税人 名称", "生产经营地址"])
    assert cols == {"uscc": 0, "name": 1, "address": 2} and missing == []
    _, missing = records.resolve_headers(m, ["纳税人识别号"])
    assert missing == ["name"]


def _check(cells, dept="市场监管", name="企业名称"):
    m = records.mapping_for(dept)
    cols, _ = records.resolve_headers(m, ["统一社会信用代码", name, "住所", "登记状态", "注册号",
                                          "区划代码"])
    return records.check_row(m, cols, 5, cells)


def test_row_checks_name_row_field_and_reason():
    ok = _check([GOOD.lower(), " 南宁某某有限公司 ", "青秀区", "存续", "", ""])
    assert not ok.errors and ok.record["uscc"] == GOOD and ok.record["status"] == "1"
    assert ok.record["name"] == "南宁某某有限公司"
    bad = _check([GOOD[:17] + ("0" if GOOD[17] != "0" else "1"), "", "x", "飞行中", "12345", "4501"])
    by_field = {e.field: e for e in bad.errors}
    assert set(by_field) == {"uscc", "name", "status", "reg_no", "division_code"}
    assert all(e.row_no == 5 for e in bad.errors)
    assert "校验位" in by_field["uscc"].reason and by_field["name"].field_zh == "单位详细名称"
    assert by_field["division_code"].reason == "区划代码应为12位数字"


def test_n_and_y_codes_are_valid_and_a_division_mismatch_is_a_flag():
    n = make_uscc("N2", "450103", "MA5K0002")
    assert not _check([n, "某村股份经济合作社", "", "", "", ""], "农业农村", "组织名称").errors
    moved = _check([GOOD, "某公司", "", "", "", "450102001001"])
    assert not moved.errors and moved.flags[0]["code"] == "division.mismatch"


def test_csv_in_gb18030_and_utf8_with_bom(tmp_path):
    text = "企业名称,住所\n南宁𠀀字号有限公司,长塘镇\n"  # 𠀀: outside GBK, inside GB18030
    for enc in ("gb18030", "utf-8-sig", "utf-8"):
        p = tmp_path / f"f-{enc}.csv"
        p.write_bytes(text.encode(enc))
        assert list(files.rows(p)) == [["企业名称", "住所"], ["南宁𠀀字号有限公司", "长塘镇"]]


def test_xlsx_streamed_with_numeric_codes(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["企业名称", "区划代码"])
    wb.active.append(["某公司", 450103103201])
    p = tmp_path / "f.xlsx"
    wb.save(p)
    assert list(files.rows(p)) == [["企业名称", "区划代码"], ["某公司", "450103103201"]]
    broken = tmp_path / "b.xlsx"
    broken.write_bytes(b"PK\x03\x04not a zip")
    with pytest.raises(files.FileProblem) as e:
        list(files.rows(broken))
    assert e.value.code == "file.xlsx"


def test_errors_export_opens_in_excel():
    from gx_registry.application.queries import ERROR_HEADER, errors_csv, table_xlsx
    data = errors_csv([(3, "统一社会信用代码", "uscc.check", "校验位错误", "X")])
    assert data.startswith("\ufeff行号".encode())
    ws = openpyxl.load_workbook(io.BytesIO(table_xlsx("错误清单", ERROR_HEADER, [(3, "a", "b", "c", "")]))).active
    assert ws.title == "错误清单" and ws.cell(2, 1).value == 3
