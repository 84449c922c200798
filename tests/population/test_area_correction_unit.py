"""Area corrections on the shared lifecycle, the map sniffer and the erasure links (unit)."""
import datetime as dt
import struct
import uuid
import zlib

import pytest

from gx_contracts.divisions import Level
from gx_contracts.events import decode
from gx_contracts.events.base import Submission
from gx_contracts.events.population import AreaProposal, PopulationReviewStep
from gx_contracts.events.workflow import CaseAccepted, CaseApproved, CaseOpened, CaseReturned

from gx_population.domain.area_correction import AreaCorrection, CorrectionError, changed_fields
from gx_population.domain.erasure_links import names_person
from gx_population.domain.map_image import MapImageError, sniff

pytestmark = pytest.mark.unit
V = "450103103201"
CURRENT = {"boundary": "东至村道", "buildings": ["1号楼"], "name": "一区", "area_code": V + "001",
           "urban_rural_code": "220"}


def _step():
    return PopulationReviewStep(event_id=uuid.uuid4(), type="workflow.case.approved",
                                at=dt.datetime.now(dt.UTC))


RAISED: list = []


def _commit(ac):
    RAISED.extend(ac.pending_events)
    types = [e.type for e in ac.pending_events]
    ac.version += len(ac.pending_events)
    ac.pending_events.clear()
    return types


def test_a_correction_is_accepted_only_by_the_final_level_and_carries_what_it_applies():
    ac = AreaCorrection(uuid.uuid4(), V, 3)
    RAISED.clear()
    proposal = AreaProposal(**{**CURRENT, "name": "一区（更正）"})
    assert changed_fields(CURRENT, proposal) == ["name"]
    with pytest.raises(CorrectionError) as e:
        ac.submit(AreaProposal(**CURRENT), changed_fields(CURRENT, AreaProposal(**CURRENT)),
                  title="t", new_id=uuid.uuid4())
    assert e.value.code == "nothing_changed"
    first = uuid.uuid4()
    ac.submit(proposal, ["name"], title="t", new_id=first)
    assert _commit(ac) == ["population.area_correction.submitted"]
    assert ac.under_review and ac.state.revision == 1
    with pytest.raises(CorrectionError) as e:
        ac.submit(proposal, ["name"], title="t", new_id=uuid.uuid4())
    assert e.value.code == "area_correction_under_review"
    ref = {"subject_kind": "population.area_correction", "subject_id": str(first),
           "division_code": V}
    case = uuid.uuid4()
    sub = Submission(**{k: v for k, v in ref.items()}, revision=1, title="t")
    ac.follow(CaseOpened(case_id=case, submission=sub, level=Level.township,
                         chain=[Level.township, Level.county]), _step())
    ac.follow(CaseReturned(**ref, case_id=case, revision=1, from_level=Level.township,
                           to_level=Level.village, reason_code="R01", reason="请核实"), _step())
    assert _commit(ac)[-1] == "population.area_correction.returned"
    ac.submit(proposal, ["name"], title="t", new_id=uuid.uuid4())  # a resubmission
    assert ac.correction_id == first and ac.state.revision == 2
    _commit(ac)
    ac.follow(CaseApproved(**ref, case_id=case, revision=2, from_level=Level.township,
                           to_level=Level.county), _step())
    ac.follow(CaseAccepted(**ref, case_id=case, revision=2, level=Level.county, final=True),
              _step())
    accepted = ac.pending_events[-1]
    assert accepted.type == "population.area_correction.accepted"
    assert accepted.data["final"] and accepted.data["applied"]["name"] == "一区（更正）"
    assert ac.state.status.value == "confirmed"
    _commit(ac)
    # the state folds from the events alone
    fresh = AreaCorrection(ac.area_id, V, 0)
    for e in RAISED:
        fresh.apply(decode(e.type, e.schema_version, e.data))
    assert fresh.state == ac.state and fresh.proposal == ac.proposal
    assert fresh.correction_id == first
    ac.submit(AreaProposal(**{**CURRENT, "boundary": "新"}), ["boundary"], title="t",
              new_id=uuid.uuid4())
    assert ac.correction_id != first and ac.state.revision == 1  # a new correction


def png(width=2, height=2) -> bytes:
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                               0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 14)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("data,declared,code", [
    (b"", "image/png", "empty_map_image"),
    (b"GIF89a....", "image/gif", "unsupported_map_image"),
    (png(), "image/jpeg", "map_type_mismatch"),
    (png()[:-1], "image/png", "bad_map_image"),
    (png(0, 5), "image/png", "bad_map_image"),
    (b"\xff\xd8\xff\xd9", "image/jpeg", "bad_map_image"),
    (png() + b"\x00" * 2000, "image/png", "map_image_too_large"),
])
def test_the_sniffer_refuses(data, declared, code):
    with pytest.raises(MapImageError) as e:
        sniff(data, declared, 1024)
    assert e.value.code == code and e.value.message


def test_the_sniffer_reads_png_and_jpeg_sizes():
    assert sniff(png(7, 3), "image/png", 10_000).width == 7
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 30, 40, 1) + b"\x01\x11\x00"
    got = sniff(b"\xff\xd8" + sof + b"\xff\xd9", "image/jpeg; charset=x", 10_000)
    assert (got.content_type, got.width, got.height) == ("image/jpeg", 40, 30)


def test_which_records_name_a_person():
    p = {"name": "韦甲", "sex": "1", "birth_year_month": "1981-03", "id_number": "450103X"}
    assert names_person({"name": "x", "id_number": "450103x"}, p)  # the ID number decides
    assert not names_person({"name": "韦甲", "id_number": "450103Y"}, p)
    assert names_person({"name": "韦甲", "sex": "1"}, p)
    assert not names_person({"name": "韦甲", "sex": "2"}, p)
    assert not names_person({"name": "韦乙"}, p) and not names_person({}, p)
