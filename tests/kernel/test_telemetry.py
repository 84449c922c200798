"""Logs are JSON lines that carry the current trace id."""
import json
import logging

from gx_kernel.telemetry import JsonFormatter, span


def test_log_lines_are_json_with_trace_id():
    record = logging.LogRecord("gx", logging.INFO, __file__, 1, "报表已提交 %s", ("r-1",), None)
    with span("request") as s:
        line = JsonFormatter().format(record)
    out = json.loads(line)
    assert out["message"] == "报表已提交 r-1" and out["level"] == "INFO"
    assert out["trace_id"] == format(s.get_span_context().trace_id, "032x")
