"""The ledger's months are bounded: a far-off month can never make a request loop for long."""
import pytest
from pydantic import TypeAdapter, ValidationError

from gx_contracts.commands.population import LedgerMonth

from gx_population.domain.ledger import MAX_MONTHS, months_until

pytestmark = pytest.mark.unit


def test_months_run_inclusive_across_a_year_end():
    assert months_until("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert months_until("2026-03", "2026-01") == []


def test_at_most_a_century_of_months_ending_with_the_asked_one():
    months = months_until("0001-01", "9999-12")
    assert len(months) == MAX_MONTHS and months[-1] == "9999-12" and months[0] == "9900-01"


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "1999-12", "2026-13"])
def test_a_reported_month_outside_2000_to_2099_is_refused(month):
    with pytest.raises(ValidationError):
        TypeAdapter(LedgerMonth).validate_python(month)
