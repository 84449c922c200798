"""The subscriber's `/api/v1/subscriptions` answer as a schema (连接说明), so a client can be
generated from the OpenAPI document."""
from __future__ import annotations

from pydantic import BaseModel, Field


class KafkaConnection(BaseModel):
    bootstrap_servers: str = Field(description="连接地址（host:port，逗号分隔）")
    security_protocol: str = Field(description="PLAINTEXT / SASL_PLAINTEXT / SASL_SSL / SSL，"
                                               "取自本部署的实际配置")
    sasl_mechanism: str | None = Field(None, description="SASL 机制（如 SCRAM-SHA-512）；明文时为空")
    sasl_username: str | None = Field(None, description="Kafka 用户名（账号中的 _ 换成 -）")
    acls_enforced: bool = Field(description="集群是否按授权的主题执行 ACL")
    group_id_prefix: str = Field(description="可用的消费组名前缀")
    client_config: dict[str, str | bool | int | None] = Field(
        description="aiokafka / kafka-python 的连接参数（口令与 CA 证书需替换）")
    note: str = Field(description="说明")


class EventOnTopic(BaseModel):
    type: str = Field(description="事件类型")
    schema_version: int
    schema_: str = Field(alias="schema", description="该版本 data 的 JSON Schema 链接")


class GrantedTopic(BaseModel):
    name: str = Field(description="逻辑主题名（如 agri.events）")
    topic: str = Field(description="集群上的实际主题名")
    description_zh: str
    granted_at: str = Field(description="授权时间（RFC 3339）")
    events: list[EventOnTopic]


class RecordValue(BaseModel):
    format: str
    schema_: str = Field(alias="schema", description="记录值（信封）的 JSON Schema 链接")


class ReplayRecipe(BaseModel):
    how: str
    group_id_prefix: str
    consumer_config: dict[str, str | bool]
    ordering: str


class Subscriptions(BaseModel):
    """订阅系统：我的主题与连接说明."""

    subscriber: str = Field(description="订阅系统账号")
    kafka: KafkaConnection
    key: str = Field(description="记录键")
    partitioner: str
    headers: dict[str, str] = Field(description="记录头（CloudEvents 二进制模式）及含义")
    value: RecordValue
    asyncapi: str = Field(description="AsyncAPI 文档链接")
    replay: ReplayRecipe
    topics: list[GrantedTopic]
