"""One trace runs gateway -> agri -> Kafka -> workflow consumer -> its database writes."""
import httpx
from opentelemetry.trace import SpanKind

from .slice_helpers import VALUES, case_in_queue, my_report, publish_task, save_and_submit


async def test_single_trace_across_the_kafka_hop(stack, spans):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        region = await stack.login(client, "qu_tongji")
        task_id = await publish_task(client, region, "450103103000", period="2026-SPRING")
        village = await stack.login(client, "tiantang_cun")
        report = await my_report(client, village, task_id)
        spans.clear()
        await save_and_submit(client, village, report, VALUES)
        township = await stack.login(client, "changtang_zhen")
        await case_in_queue(client, township, report["report_id"])

    finished = spans.get_finished_spans()
    submit = next(s for s in finished if s.kind == SpanKind.SERVER and s.name.startswith("POST")
                  and s.name.endswith("/submit")
                  and s.attributes.get("service.component") == "gateway")
    trace = [s for s in finished if s.context.trace_id == submit.context.trace_id]
    names = {(s.name, s.kind) for s in trace}
    topic = stack.topic("agri.events")
    assert any(s.kind == SpanKind.SERVER and s.attributes.get("service.component") == "agri"
               for s in trace)
    assert (f"{topic} publish", SpanKind.PRODUCER) in names
    consumer = next(s for s in trace if s.name == f"{topic} process")
    assert consumer.kind == SpanKind.CONSUMER
    assert "workflow" in consumer.attributes["messaging.consumer.group.name"]
    by_id = {s.context.span_id: s for s in trace}
    db = [s for s in trace if s.name == "db.transaction" and s.parent
          and s.parent.span_id == consumer.context.span_id]
    assert db, "the consumer's database transaction belongs to the same trace"
    appends = [s for s in trace if s.name == "eventstore.append"]
    assert any(_descends(s, consumer, by_id) for s in appends)  # workflow wrote its case
    # No personal data or report content in any span of the trace.
    text = str([dict(s.attributes) for s in trace])
    for secret in ("天堂村", "117000", "tiantang_cun", "Demo@2026"):
        assert secret not in text


def _descends(span, ancestor, by_id) -> bool:
    while span.parent is not None:
        if span.parent.span_id == ancestor.context.span_id:
            return True
        span = by_id.get(span.parent.span_id)
        if span is None:
            return False
    return False
