"""事后质量抽查结果 of a sample whose drawn areas are not all matched yet: every drawn area has
a row (empty figures and a note until its re-enumeration is matched), and the chart is a valid
SVG saying 暂无数据 while no area has figures (reportlab failed on an empty bar chart)."""
import io
import xml.etree.ElementTree as ET

from pypdf import PdfReader

from gx_population.adapters import pes_report
from gx_population.application.pes import result_of

SAMPLE = {"sample_id": "s-1", "survey_year": 2026, "seed": "s2026", "frame_size": 9,
          "area_codes": ["450103103201002", "450103103201001"]}
MATCHED = {"area_code": "450103103201001", "c": 5, "ii": 0, "ce": 3, "p": 4, "m": 3,
           "decisions": []}


def test_a_drawn_area_with_no_match_yet_still_has_a_row():
    r = result_of(SAMPLE, [MATCHED])
    assert [a["area_code"] for a in r["areas"]] == SAMPLE["area_codes"]  # the draw's order
    waiting, done = r["areas"]
    assert waiting["matched"] is False and "尚未比对" in waiting["note"]
    assert waiting["C"] is None and waiting["omission_rate"] is None
    assert done["matched"] is True and (done["C"], done["M"], done["omission_rate"]) == (5, 3, 0.25)
    assert r["overall"]["C"] == 5 and r["overall"]["omission_rate"] == 0.25
    assert r["unmatched"] == ["450103103201002"]


def test_an_empty_sample_charts_as_a_valid_svg_saying_no_data():
    r = result_of(SAMPLE, [])
    assert len(r["areas"]) == 2 and all(not a["matched"] for a in r["areas"])
    svg = pes_report.chart_svg(r)
    ET.fromstring(svg)  # well-formed
    assert "暂无数据" in svg.decode()
    pdf = pes_report.pdf(r)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "450103103201002" in text and "尚未比对" in text


def test_a_partly_matched_sample_charts_only_the_matched_areas():
    svg = pes_report.chart_svg(result_of(SAMPLE, [MATCHED])).decode()
    ET.fromstring(svg)
    assert "201001" in svg and "201002" not in svg and "暂无数据" not in svg
