"""Which topics a subscriber can be granted (gx_gateway.domain.topics): every public domain
topic, never the internal gateway.events or a dead-letter topic (issue 14 §6)."""
import pytest

from gx_contracts.envelope import dlq_topic, topic_for
from gx_contracts.events import EVENT_TYPES
from gx_kernel.errors import AppError

from gx_gateway.domain import topics as tp

CONTRACT_TOPICS = sorted({topic_for(t) for t in EVENT_TYPES})
NEVER = sorted(tp.INTERNAL_TOPICS | {dlq_topic(t) for t in CONTRACT_TOPICS})


def test_every_public_contract_topic_can_be_granted():
    public = [t for t in CONTRACT_TOPICS if t not in tp.INTERNAL_TOPICS]
    assert "gateway.events" in CONTRACT_TOPICS and "gateway.events" not in public
    assert tp.check_topics(public + public[:1], "grant") == public  # de-duplicated, in order
    assert set(public) == set(tp.PUBLIC_TOPICS)


@pytest.mark.parametrize("topic", NEVER)
def test_internal_and_dead_letter_topics_are_never_granted(topic):
    with pytest.raises(AppError) as exc:
        tp.check_topics(["agri.events", topic], "grant")
    assert exc.value.code == "topic_unknown" and exc.value.status == 422
    assert "grant[1]" in exc.value.message
    assert not tp.grantable(topic)


def test_even_a_mistaken_table_entry_grants_no_internal_topic(monkeypatch):
    monkeypatch.setitem(tp.PUBLIC_TOPICS, "gateway.events", "误加")
    monkeypatch.setitem(tp.PUBLIC_TOPICS, "agri.events.dlq", "误加")
    for topic in ("gateway.events", "agri.events.dlq"):
        with pytest.raises(AppError):
            tp.check_topics([topic], "grant")
