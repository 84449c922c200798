"""机内审核 rules engine: each rule kind passes, warns and errs; catalogue versioning."""
from gx_agri.domain.catalogue import default_catalogue, parse_form
from gx_agri.domain.rules import blocking, input_problems, validate

CAT = default_catalogue()
A301 = CAT.get("A301", 1)
A302 = CAT.get("A302", 1)


def _ind(code, name, unit, kind, decimals, hi):
    return {"code": code, "name": name, "unit": unit, "type": kind, "decimals": decimals,
            "min": 0, "max": hi}


def _form(rules, indicators=None):
    indicators = indicators or [
        _ind("area", "早稻播种面积", "亩", "decimal", 1, 10_000_000),
        _ind("output", "早稻产量", "公斤", "decimal", 0, 20_000_000_000),
        _ind("cane", "甘蔗产量", "吨", "decimal", 2, 500_000_000),
        _ind("total", "粮食作物播种面积", "亩", "decimal", 1, 10_000_000),
        _ind("opening", "生猪期初存栏", "头", "integer", 0, 10_000_000),
        _ind("slaughter", "生猪出栏", "头", "integer", 0, 10_000_000)]
    return parse_form({"code": "T1", "name": "测试表", "version": 1, "period_type": "annual",
                       "periods": [{"suffix": "", "name": "年报"}], "indicators": indicators,
                       "rules": rules})


def kinds(findings):
    return [(f.kind, f.severity, f.indicator) for f in findings]


def test_required():
    form = _form([{"id": "R1", "kind": "required", "severity": "error", "indicators": ["total"]}])
    assert validate(form, {"total": 0}) == []
    [f] = validate(form, {"total": None})
    assert (f.severity, f.indicator) == ("error", "total") and "粮食作物播种面积" in f.message


def test_range_warning_and_error():
    form = _form([{"id": "R1", "kind": "range", "severity": "warning", "indicator": "area",
                   "max": 30000},
                  {"id": "R2", "kind": "range", "severity": "error", "indicator": "area",
                   "max": 100000}])
    assert validate(form, {"area": 500}) == []
    assert kinds(validate(form, {"area": 40000})) == [("range", "warning", "area")]
    fs = validate(form, {"area": 120000})
    assert {f.severity for f in fs} == {"warning", "error"}
    assert "120000" in fs[1].message and "100000" in fs[1].message


def test_yield_band():
    rules = [{"id": "Y1", "kind": "yield_band", "severity": "warning", "area": "area",
              "output": "output", "typical_yield_per_mu": 390, "band": [0.5, 1.6]},
             {"id": "Y2", "kind": "yield_band", "severity": "error", "area": "area",
              "output": "output", "typical_yield_per_mu": 390, "band": [0.1, 4.0]}]
    form = _form(rules)
    assert validate(form, {"area": 100, "output": 40000}) == []  # 400 kg/mu
    [w] = validate(form, {"area": 100, "output": 70000})  # 700 kg/mu: unusual
    assert w.severity == "warning" and "早稻产量" in w.message and "100" in w.message \
        and "390" in w.message and "62400" in w.message
    assert {f.severity for f in validate(form, {"area": 100, "output": 200000})} == {"warning", "error"}
    [z1, z2] = validate(form, {"area": 0, "output": 10})  # output without area
    assert "无播种面积" in z1.message


def test_yield_band_in_tonnes():
    form = _form([{"id": "Y", "kind": "yield_band", "severity": "warning", "area": "area",
                   "output": "cane", "typical_yield_per_mu": 5.4, "band": [0.5, 1.6]}])
    assert validate(form, {"area": 10, "cane": 50}) == []  # 5 t/mu
    [f] = validate(form, {"area": 10, "cane": 500})
    assert "吨" in f.message and "50000" in f.message  # 50 t/mu = 50000 kg/mu


def test_sum_parts_not_above_total():
    form = _form([{"id": "S", "kind": "sum", "severity": "error", "total": "total",
                   "parts": ["area"]}])
    assert validate(form, {"total": 100, "area": 100}) == []
    [f] = validate(form, {"total": 90, "area": 100})
    assert f.severity == "error" and "90" in f.message and "100" in f.message


def test_year_on_year():
    form = _form([{"id": "Y", "kind": "year_on_year", "severity": "warning",
                   "indicators": ["area"], "max_change": 0.3}])
    assert validate(form, {"area": 100}) == []  # no accepted period before: nothing to compare
    assert validate(form, {"area": 120}, previous={"area": 100}) == []
    [f] = validate(form, {"area": 150}, previous={"area": 100}, previous_period="2025")
    assert "增长 50%" in f.message and "2025" in f.message
    [f] = validate(form, {"area": 50}, previous={"area": 100})
    assert "下降 50%" in f.message


def test_year_on_year_as_error():
    form = _form([{"id": "Y", "kind": "year_on_year", "severity": "error",
                   "indicators": ["area"], "max_change": 0.9}])
    assert kinds(validate(form, {"area": 300}, previous={"area": 100})) == [
        ("year_on_year", "error", "area")]


def test_livestock_balance():
    form = _form([{"id": "L", "kind": "livestock_balance", "severity": "warning",
                   "opening": "opening", "slaughter": "slaughter", "max_ratio": 1.0},
                  {"id": "L2", "kind": "livestock_balance", "severity": "error",
                   "opening": "opening", "slaughter": "slaughter", "max_ratio": 3.0}])
    assert validate(form, {"opening": 100, "slaughter": 80}) == []
    [f] = validate(form, {"opening": 100, "slaughter": 150})
    assert f.severity == "warning" and "生猪出栏" in f.message and "150" in f.message
    assert len(validate(form, {"opening": 100, "slaughter": 400})) == 2


def test_explained_warning_does_not_block_but_error_does():
    form = _form([{"id": "R", "kind": "range", "severity": "warning", "indicator": "area", "max": 10},
                  {"id": "S", "kind": "sum", "severity": "error", "total": "total", "parts": ["area"]}])
    fs = validate(form, {"area": 20, "total": 30})
    assert len(blocking(fs)) == 1
    fs = validate(form, {"area": 20, "total": 30}, {"area": "今年新开垦水田"})
    assert blocking(fs) == [] and fs[0].explained
    fs = validate(form, {"area": 20, "total": 5}, {"area": "说明", "total": "说明"})
    assert [f.kind for f in blocking(fs)] == ["sum"]


def test_input_problems_name_the_field():
    probs = dict(input_problems(A302, {"pigs_closing": 10.5, "nope": 1, "sows_closing": 3}, {"x": "y"}))
    assert "整数" in probs["values.pigs_closing"]
    assert "nope" in probs["values.nope"] and "explanations.x" in probs
    assert "小数" in dict(input_problems(A301, {"grain_area": 1.25}, {}))["values.grain_area"]


def test_catalogue_shape_and_versions():
    assert {"A301", "A302"} <= set(CAT.codes())
    names = {i.name for i in A301.indicators}
    for crop in ("早稻", "晚稻", "玉米", "薯类", "大豆", "花生", "甘蔗", "木薯", "蔬菜", "水果"):
        assert any(crop in n for n in names)
    assert A301.indicator("sugarcane_output").unit == "吨"
    assert A301.indicator("early_rice_output").unit == "公斤"
    assert A302.indicator("poultry_closing").unit == "只" and A302.period_type == "quarterly"
    assert A301.period_name("2026-SPRING") == "2026年春播" and A301.period_name("2026-Q1") is None
    v2 = CAT.latest("A301")
    assert v2.version == 2 and v2.indicator("crop_area") is not None
    assert A301.indicator("crop_area") is None  # the old version is unchanged
    kinds_used = {r["kind"] for f in CAT.all() for r in f.rules}
    assert kinds_used == {"required", "range", "yield_band", "sum", "year_on_year", "livestock_balance"}


def test_realistic_village_a301_passes():
    values = {"grain_area": 2600, "early_rice_area": 1200, "early_rice_output": 468000,
              "late_rice_area": 1100, "late_rice_output": 418000, "maize_area": 300,
              "maize_output": 90000, "sugarcane_area": 800, "sugarcane_output": 4300.5}
    assert blocking(validate(A301, values)) == []
