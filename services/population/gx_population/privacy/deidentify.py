"""The de-identified view of a person record, for `population.events` subscribers.

Allow-list, not deny-list: only fields named here leave, so a field added to the form later
is withheld until someone decides it is safe. Birth year-month becomes a 5-year age band at
the survey's reference time; the area code is kept (aggregation needs it).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from gx_population.domain.forms import age_at

KEPT = ("person_id", "household_id", "area_code", "relationship", "sex", "ethnicity",
        "education", "registration_status", "left_registration_reason", "survey_year",
        "form_version")


def age_band(age: int, width: int = 5, top: int = 85) -> str:
    if age >= top:
        return f"{top}岁及以上"
    low = age // width * width
    return f"{low}-{low + width - 1}岁"


def deidentify(record: Mapping[str, object], reference: dt.date) -> dict[str, object]:
    out = {k: record[k] for k in KEPT if k in record}
    birth = record.get("birth_year_month")
    if isinstance(birth, str) and len(birth) >= 7 and birth[:4].isdigit():
        out["age_band"] = age_band(max(0, age_at(birth, reference)))
    return out
