"""Service settings from the environment (12-factor)."""
from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Settings every service shares; a service may subclass to add its own."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    service_name: str = Field("service", alias="GX_SERVICE_NAME")
    database_url: str = Field("postgresql://postgres@127.0.0.1:5432/postgres", alias="DATABASE_URL")
    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", alias="KAFKA_BOOTSTRAP_SERVERS")
    # Apache Kafka: on. Tansu (the embedded dev broker) cannot init producer ids: off.
    kafka_enable_idempotence: bool = Field(False, alias="KAFKA_ENABLE_IDEMPOTENCE")
    topic_prefix: str = Field("", alias="GX_TOPIC_PREFIX")
    db_schema: str | None = Field(None, alias="GX_DB_SCHEMA")
    db_pool_max: int = Field(10, alias="GX_DB_POOL_MAX")
    http_host: str = Field("127.0.0.1", alias="GX_HTTP_HOST")
    http_port: int = Field(8000, alias="GX_HTTP_PORT")
    internal_secret: str = Field("dev-internal-secret-change-me", alias="GX_INTERNAL_SECRET")
    topic_partitions: int = Field(3, alias="GX_TOPIC_PARTITIONS")
    consumer_max_attempts: int = Field(5, alias="GX_CONSUMER_MAX_ATTEMPTS")
    consumer_fetch_wait_ms: int = Field(50, alias="GX_CONSUMER_FETCH_WAIT_MS")
    # A consumer off the submit path (a domain following the review events of its own cases
    # among every domain's) polls less often: Tansu holds a fetch up to about half this wait
    # after a record arrives (≈ wait/4 on average, measured), Kafka answers at once.
    follower_fetch_wait_ms: int = Field(250, alias="GX_CONSUMER_FOLLOWER_FETCH_WAIT_MS")
    relay_enabled: bool = Field(True, alias="GX_RELAY_ENABLED")
    # Largest Kafka record an event may become; a bigger one is refused at append (413).
    # Keep it at or below the topics' max.message.bytes and the producer's max_request_size.
    max_event_bytes: int = Field(256 * 1024, alias="GX_MAX_EVENT_BYTES", gt=1024)
    # The producer's own request limit (None: 1 MiB, or twice the event limit if larger).
    kafka_max_request_bytes: int | None = Field(None, alias="GX_KAFKA_MAX_REQUEST_BYTES")
    # Failed tries of one event before the relay raises its alarm (/ready, log, metric).
    relay_max_attempts: int = Field(5, alias="GX_RELAY_MAX_ATTEMPTS", ge=1)
    # How often (s) the relay asks the broker whether it still holds what was published.
    relay_broker_check_seconds: float = Field(5.0, alias="GX_RELAY_BROKER_CHECK_SECONDS", gt=0)
    demo: bool = Field(False, alias="GX_DEMO")
    graceful_shutdown_seconds: int = Field(10, alias="GX_GRACEFUL_SHUTDOWN_SECONDS")

    @property  # shadows pydantic's deprecated BaseModel.schema() on purpose (the db schema)
    def schema(self) -> str:  # type: ignore[override]
        return self.db_schema or self.service_name

    def topic(self, name: str) -> str:
        """Physical topic name; tests isolate themselves with a prefix."""
        return f"{self.topic_prefix}{name}"

    @property
    def events_topic(self) -> str:
        return self.topic(f"{self.service_name}.events")
