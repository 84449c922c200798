"""Gateway settings (environment); tests construct them explicitly."""
from __future__ import annotations

from pydantic import Field

from gx_kernel.settings import ServiceSettings

SERVICES = ("registry", "agri", "population", "organisation", "workflow")
"""Services the gateway fronts: /api/v1/<service>/... goes to GX_<SERVICE>_URL."""


class GatewaySettings(ServiceSettings):
    service_name: str = Field("gateway", alias="GX_SERVICE_NAME")
    jwt_secret: str = Field("dev-jwt-secret-change-me-at-least-32-bytes", alias="GX_JWT_SECRET")
    access_ttl: int = Field(900, alias="GX_ACCESS_TTL")  # seconds
    refresh_ttl: int = Field(7 * 24 * 3600, alias="GX_REFRESH_TTL")
    registry_url: str = Field("http://127.0.0.1:8001", alias="GX_REGISTRY_URL")
    agri_url: str = Field("http://127.0.0.1:8002", alias="GX_AGRI_URL")
    population_url: str = Field("http://127.0.0.1:8003", alias="GX_POPULATION_URL")
    organisation_url: str = Field("http://127.0.0.1:8005", alias="GX_ORGANISATION_URL")
    workflow_url: str = Field("http://127.0.0.1:8004", alias="GX_WORKFLOW_URL")
    # Login throttling (登录限速), per username and per client address: after this many wrong
    # passwords within the window, each further one doubles a delay (from 1 s up to the cap).
    # No hard lock anyone could trigger; an enrolled phone of the user is not slowed.
    login_free_failures_user: int = Field(5, alias="GX_LOGIN_FREE_FAILURES_USER")
    login_free_failures_address: int = Field(100, alias="GX_LOGIN_FREE_FAILURES_ADDRESS")
    login_max_delay_seconds: int = Field(15 * 60, alias="GX_LOGIN_MAX_DELAY")
    login_window_seconds: int = Field(15 * 60, alias="GX_LOGIN_WINDOW")
    # Revoked login sessions (token families): how long the gateway trusts its cached list.
    revocation_cache_seconds: float = Field(2.0, alias="GX_REVOCATION_CACHE_SECONDS")
    # Token buckets (per user and per device): sustained rate per second and burst size.
    rate_user_per_sec: float = Field(20.0, alias="GX_RATE_USER_PER_SEC")
    rate_user_burst: int = Field(60, alias="GX_RATE_USER_BURST")
    rate_device_per_sec: float = Field(10.0, alias="GX_RATE_DEVICE_PER_SEC")
    rate_device_burst: int = Field(30, alias="GX_RATE_DEVICE_BURST")
    # Idempotency: how long a concurrent retry waits for the first attempt before 409.
    idempotency_wait_seconds: float = Field(5.0, alias="GX_IDEMPOTENCY_WAIT")
    idempotency_stale_seconds: int = Field(120, alias="GX_IDEMPOTENCY_STALE")
    # Device certificate: data-collection requests (mutations by village/grid roles) must be
    # signed by an enrolled device. Off by default until the console/phone clients sign.
    device_required: bool = Field(False, alias="GX_DEVICE_REQUIRED")
    device_clock_skew: int = Field(300, alias="GX_DEVICE_CLOCK_SKEW")
    upstream_timeout: float = Field(30.0, alias="GX_UPSTREAM_TIMEOUT")
    # Input bounds, checked before any parsing (gx_kernel.input_guard), here and in services.
    max_body_bytes: int = Field(1024 * 1024, alias="GX_MAX_BODY_BYTES")
    max_json_depth: int = Field(32, alias="GX_MAX_JSON_DEPTH")
    max_json_items: int = Field(10_000, alias="GX_MAX_JSON_ITEMS")
    # argon2 cost; tests may lower memory to stay fast (production keeps the library default).
    argon2_memory_kib: int = Field(65536, alias="GX_ARGON2_MEMORY_KIB")
    # Merged OpenAPI document: cache lifetime and per-service fetch timeout (seconds).
    openapi_ttl: float = Field(30.0, alias="GX_OPENAPI_TTL")
    openapi_fetch_timeout: float = Field(2.0, alias="GX_OPENAPI_FETCH_TIMEOUT")
    # What outside systems (subscribers) are told to connect to; the internal bootstrap
    # (KAFKA_BOOTSTRAP_SERVERS) is usually not reachable from outside. Empty = the internal one.
    public_kafka_bootstrap: str = Field("", alias="GX_PUBLIC_KAFKA_BOOTSTRAP")
    # ... and how (连接方式). Empty = as the gateway itself connects (KAFKA_SECURITY_PROTOCOL,
    # KAFKA_SASL_MECHANISM): compose points subscribers at its SASL_PLAINTEXT listener, k8s at
    # Strimzi's SASL_SSL one; the embedded broker of `make run` is plaintext without ACLs.
    public_kafka_security_protocol: str = Field("", alias="GX_PUBLIC_KAFKA_SECURITY_PROTOCOL")
    public_kafka_sasl_mechanism: str = Field("", alias="GX_PUBLIC_KAFKA_SASL_MECHANISM")
    # contracts/ (schemas/, asyncapi.yaml); empty = next to the installed gx_contracts package.
    contracts_dir: str = Field("", alias="GX_CONTRACTS_DIR")

    def service_url(self, service: str) -> str:
        return getattr(self, f"{service}_url").rstrip("/")
