"""One list of record headers (issue 14 §6): `gx_contracts.envelope.HEADERS` (what the kernel's
encoder writes, tests/contracts/test_payloads.py) is what the README, the AsyncAPI message
headers and the gateway's answer to a subscriber name — `ce_dataschemaversion` included."""
import re

import yaml

from gx_contracts import export
from gx_contracts.envelope import CE_DATASCHEMAVERSION, HEADERS, TRACEPARENT

from gx_gateway.domain.topics import CE_HEADERS

DOCUMENTED = set(HEADERS) | {TRACEPARENT}  # traceparent: when the causing request had one


def test_the_readme_lists_every_header():
    text = (export.contracts_dir().parent / "README.md").read_text(encoding="utf-8")
    bullet = re.search(r"^- \*\*headers\*\* = (.*?)(?=^- \*\*)", text, flags=re.M | re.S)
    assert bullet, "README: the subscribers' '- **headers** = …' bullet"
    # header names, not the value's fields it refers to (`schema_version`)
    named = {n for n in re.findall(r"`([a-z_-]+)`", bullet.group(1))
             if n.startswith("ce_") or n in (TRACEPARENT, "content-type")}
    assert named == DOCUMENTED and CE_DATASCHEMAVERSION in named


def test_asyncapi_messages_carry_the_same_headers():
    doc = yaml.safe_load((export.contracts_dir() / "asyncapi.yaml").read_text(encoding="utf-8"))
    for name, msg in doc["components"]["messages"].items():
        headers = msg["headers"]
        assert set(headers["required"]) == set(HEADERS), name
        ours = {h for h in headers["properties"] if not h.startswith("x-gx-")}
        assert ours == DOCUMENTED, name
    assert f"`{CE_DATASCHEMAVERSION}`" in doc["info"]["description"]


def test_the_gateway_tells_subscribers_the_same_headers():
    assert set(CE_HEADERS) == DOCUMENTED
