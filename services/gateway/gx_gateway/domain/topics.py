"""Topics an outside system may be granted (可订阅的主题) and what a subscriber is told. Pure."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gx_kernel.errors import AppError

PUBLIC_TOPICS: dict[str, str] = {
    "agri.events": "农业统计：报表任务发布、草稿、提交、退回、验收",
    "workflow.events": "审核流程：案卷建立、审核通过、退回、重新报送、验收、重新打开、超期",
    "registry.events": "名录库：单位登记、变更、迁出",
    "population.events": "人口变动调查：住户表提交",
    "organisation.events": "统计工作组织：机构、人员任用、改革范围与方案、进度报告、培训、考核",
}
"""Logical topic -> description. Dead-letter topics and the gateway's own audit stream
(accounts, devices) are never granted."""
INTERNAL_TOPICS = frozenset({"gateway.events"})
"""The platform's own topics: names accounts (login name, role, division), never granted."""


def grantable(name: str) -> bool:
    """A public domain topic — never an internal one or a dead-letter topic, whatever the
    table above says."""
    return name in PUBLIC_TOPICS and name not in INTERNAL_TOPICS and not name.endswith(".dlq")

PARTITIONER = ("murmur2 hash of the key modulo the partition count (aiokafka's default, the same "
               "as the Java client's); all events of one stream (one key) are in one partition, "
               "in order. librdkafka clients default to CRC32 — irrelevant for reading, but "
               "never re-publish our events with another partitioner and expect the same placement.")
CE_HEADERS = {"ce_id": "event id (UUID) — deduplicate by it (delivery is at least once)",
              "ce_type": "event type, e.g. agri.report.submitted",
              "ce_source": "/gxstat/<service>", "ce_specversion": "1.0",
              "ce_time": "RFC 3339 time the event was recorded",
              "ce_subject": "stream id (same as the key)",
              "ce_dataschemaversion": "schema version of data (the N in <type>.v<N>.json)",
              "content-type": "application/json",
              "traceparent": "W3C trace context of the request that caused the event"}


def check_topics(names: Iterable[str], field: str) -> list[str]:
    """The names, de-duplicated in order; 422 naming the field for one that is not public."""
    out: list[str] = []
    for i, name in enumerate(names):
        if not grantable(name):
            raise AppError(422, "topic_unknown",
                           f"主题（{field}[{i}]）不存在或不可订阅：{name}；可订阅："
                           + "、".join(PUBLIC_TOPICS), field=f"{field}.{i}")
        if name not in out:
            out.append(name)
    return out


def event_types_of(topic: str, schema_files: Iterable[str]) -> list[tuple[str, int, str]]:
    """(event type, schema version, file name) of the events published on a logical topic,
    from schema file names like `agri.report.submitted.v1.json`."""
    service = topic.removesuffix(".events")
    out = []
    for name in sorted(schema_files):
        stem = name.removesuffix(".json")
        etype, _, ver = stem.rpartition(".v")
        if etype.split(".", 1)[0] == service and ver.isdigit():
            out.append((etype, int(ver), name))
    return out


def replay_recipe(group_prefix: str) -> dict[str, Any]:
    return {
        "how": "用一个新的消费组（group_id）并设置 auto_offset_reset=earliest，即从主题最早的记录开始"
               "重新读取；已有消费组会从其已提交的位置继续。",
        "group_id_prefix": group_prefix,
        "consumer_config": {"group_id": f"{group_prefix}replay-<date>",
                            "auto_offset_reset": "earliest", "enable_auto_commit": False},
        "ordering": "order per stream by `version`; deduplicate by `id` (ce_id)",
    }


def kafka_username(account: str) -> str:
    """The Kafka (SCRAM) user of a subscriber account: Kubernetes names (Strimzi's KafkaUser)
    allow no "_", so `sheng_xitong` is `sheng-xitong` on the cluster, in compose and in k8s."""
    return account.replace("_", "-")


def group_prefix(account: str) -> str:
    """The consumer groups a subscriber may use (the ACL's prefix): `<account>.`."""
    return f"{account}."


_NOTES = {
    "plaintext": "本部署的消息中间件为明文连接，不认证、不做 ACL（make run 的嵌入式代理，或未开启 SASL "
                 "的部署）：能连到它的程序可以读所有主题，只用于开发与联调，不要对外开放。"
                 "正式部署（deploy/k8s）为 SASL_SSL + SCRAM-SHA-512，docker compose 为 9094 端口的 "
                 "SASL_PLAINTEXT + SCRAM-SHA-512。",
    "sasl": "Kafka 口令由自治区统计局另行发放。集群按本页授权的主题配置 ACL：只能读取（Read、Describe）"
            "这些主题，只能使用以 {groups} 开头的消费组；死信主题与 gateway.events 不授予。",
    "ssl": "用自治区统计局提供的集群 CA 证书校验服务端证书（ssl_cafile）。",
}


def connection(bootstrap: str, protocol: str, mechanism: str | None, account: str
               ) -> dict[str, Any]:
    """What a subscriber is told about connecting, from the deployment's real settings."""
    sasl, ssl = protocol.startswith("SASL_"), protocol in ("SSL", "SASL_SSL")
    mech = (mechanism or "SCRAM-SHA-512") if sasl else None
    user = kafka_username(account) if sasl else None
    note = _NOTES["sasl"].format(groups=group_prefix(account)) if sasl else _NOTES["plaintext"]
    config: dict[str, Any] = {"bootstrap_servers": bootstrap, "security_protocol": protocol}
    if sasl:
        config.update(sasl_mechanism=mech, sasl_plain_username=user,
                      sasl_plain_password="<自治区统计局发放的口令>")
    if ssl:
        config["ssl_cafile"] = "<集群 CA 证书文件>"
        note += _NOTES["ssl"]
    return {"bootstrap_servers": bootstrap, "security_protocol": protocol,
            "sasl_mechanism": mech, "sasl_username": user, "acls_enforced": sasl,
            "group_id_prefix": group_prefix(account), "client_config": config, "note": note}
