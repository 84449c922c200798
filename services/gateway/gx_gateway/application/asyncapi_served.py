"""The AsyncAPI document as this deployment serves it: the contracts' file with its server
entry replaced by the one outside systems really connect to (host, protocol, SASL scheme)
and each channel's address the physical topic name. The file in contracts/ stays the
generated, deployment-free source (`make schemas`)."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml

from gx_gateway.application import contract_files
from gx_gateway.application.subscriptions import connection_details
from gx_gateway.domain import topics as tp
from gx_gateway.settings import GatewaySettings

ACCOUNT = "<订阅系统账号>"  # the document is the same for every subscriber

SCHEMES = {"SCRAM-SHA-512": "scramSha512", "SCRAM-SHA-256": "scramSha256", "PLAIN": "plain",
           "GSSAPI": "gssapi"}


def server_entry(conn: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(AsyncAPI 3 server object, security schemes it refers to) for a connection as
    `subscriptions.connection_details` describes it."""
    protocol = conn["security_protocol"]
    server: dict[str, Any] = {
        "host": conn["bootstrap_servers"],
        "protocol": "kafka-secure" if protocol in ("SSL", "SASL_SSL") else "kafka",
        "protocolVersion": "auto",
        "description": f"本部署供外部系统连接的 Kafka（{protocol}）。{conn['note']}"}
    schemes: dict[str, Any] = {}
    if conn["sasl_mechanism"]:
        kind = SCHEMES.get(conn["sasl_mechanism"], "userPassword")
        schemes[kind] = {"type": kind, "description":
                         f"SASL {conn['sasl_mechanism']}：Kafka 用户为订阅系统账号（_ 换成 -），"
                         "口令由自治区统计局发放"}
        server["security"] = [{"$ref": f"#/components/securitySchemes/{kind}"}]
    return server, schemes


@lru_cache(maxsize=8)
def _render(path: str, mtime: float, settings_key: tuple[str, ...]) -> str:
    bootstrap, protocol, mechanism, prefix = settings_key
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    conn = tp.connection(bootstrap, protocol, mechanism or None, ACCOUNT)
    server, schemes = server_entry(conn)
    for name in list(doc.get("servers") or {"platform": None}):
        doc.setdefault("servers", {})[name] = server  # channels keep their $ref to it
    if schemes:
        doc.setdefault("components", {}).setdefault("securitySchemes", {}).update(schemes)
    for channel in (doc.get("channels") or {}).values():
        if prefix and isinstance(channel.get("address"), str):
            channel["address"] = prefix + channel["address"]
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def document(settings: GatewaySettings) -> str | None:
    """The served YAML, or None when the contracts' file is missing."""
    path = contract_files.asyncapi_file(settings)
    if not path.is_file():
        return None
    conn = connection_details(settings, ACCOUNT)
    key = (conn["bootstrap_servers"], conn["security_protocol"],
           conn["sasl_mechanism"] or "", settings.topic_prefix)
    return _render(str(path), path.stat().st_mtime, key)
