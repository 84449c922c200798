"""The size check's cheap bound never passes an event that the exact count would refuse."""
from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gx_kernel.errors import EventTooLarge
from gx_kernel.eventstore import NewEvent
from gx_kernel.kafka import check_event_size, record_size

from tests.hypothesis_budget import examples

pytestmark = pytest.mark.unit

_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=5), max_leaves=30)


@settings(max_examples=examples(100), deadline=None)
@given(data=st.dictionaries(st.text(max_size=10), _values, max_size=8),
       limit=st.integers(min_value=200, max_value=20_000))
def test_an_event_passed_is_never_above_the_limit(data, limit):
    event = NewEvent(type="x.thing.happened", data=data, id=uuid.uuid4())
    meta = {"actor": "张三", "correlation_id": str(uuid.uuid4())}
    text = json.dumps(data, ensure_ascii=False)
    try:
        check_event_size("thing-1", [event], meta, limit, [text])
    except EventTooLarge:
        assert record_size("thing-1", event, meta, text) > limit
    else:
        assert record_size("thing-1", event, meta, text) <= limit


def test_an_exponent_is_always_counted_exactly():
    event = NewEvent(type="x.thing.happened", data={"n": 1e300}, id=uuid.uuid4())
    exact = record_size("thing-1", event, {}, json.dumps(event.data))
    with pytest.raises(EventTooLarge):
        check_event_size("thing-1", [event], {}, exact - 1, [json.dumps(event.data)])
    check_event_size("thing-1", [event], {}, exact, [json.dumps(event.data)])
