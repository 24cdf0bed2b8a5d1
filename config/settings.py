"""Configuration from the environment (prefix PARTNERGRAPH_), validated at start-up."""

from __future__ import annotations

import enum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me"


class EmailBackend(enum.StrEnum):
    SMTP = "smtp"
    FILE = "file"
    CONSOLE = "console"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARTNERGRAPH_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./partnergraph.db",
        description="SQLAlchemy async URL; sqlite+aiosqlite or postgresql+asyncpg.",
    )
    database_pool_size: int = Field(
        default=10,
        ge=1,
        description="PostgreSQL connections each API process keeps pooled; as many again "
        "may open under load (max_overflow). A worker process uses half.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis for the Dramatiq broker; unset runs an in-process broker and worker.",
    )
    redis_namespace: str = Field(
        default="partnergraph",
        min_length=1,
        description="Prefix of every Redis key this deployment writes (Dramatiq queues and "
        "the rest), so several deployments or test runs can share one Redis server.",
    )
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    production: bool = False
    graphiql: bool = True
    cors_origins: list[str] = Field(default_factory=list)
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Base of the links in emails (the web console). Unset, `partnergraph "
        "serve` uses the address it listens on (listen_url).",
    )

    email_backend: EmailBackend = EmailBackend.CONSOLE
    email_from: str = "partnergraph <no-reply@partnergraph.example>"
    email_file_dir: Path = Path("./outbox-mail")
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0

    session_ttl_hours: int = Field(default=24 * 14, ge=1)
    invitation_ttl_days: int = Field(default=14, ge=1)
    max_page_size: int = Field(default=100, ge=1, le=1000)
    outbox_sweep_seconds: float = Field(default=5.0, gt=0)
    outbox_stale_seconds: float = Field(default=30.0, gt=0)
    outbox_batch_size: int = Field(
        default=100,
        ge=1,
        le=1000,  # workers.outbox_batch.MAX_BATCH
        description="A batch actor's message (credit_cashback) also does up to this many "
        "- 1 other pending rows in its transaction (1: one row per transaction).",
    )
    outbox_sweep_in_workers: bool = Field(
        default=True,
        description="Every Dramatiq worker process also relays the outbox (so jobs go out "
        "with no API process running).",
    )
    query_depth_limit: int = 12

    # People: emailed links (issue 9). SPEC: a password reset link lasts one hour; member
    # invitations 7 days.
    email_verification_ttl_hours: int = Field(default=48, ge=1)
    password_reset_ttl_minutes: int = Field(default=60, ge=1)
    member_invitation_ttl_days: int = Field(default=7, ge=1)

    # --- The public edge (issue 7): throttling, request limits, query cost, lockdown ---
    # Limits in the `limits` notation ("5/minute;20/hour"); "" switches one off.
    throttle_password_account: str = "5/minute;20/hour"
    throttle_password_ip: str = "20/minute;200/hour"
    throttle_password_token: str = "20/minute;200/hour"
    throttle_sign_up_account: str = "3/hour"
    throttle_sign_up_ip: str = "10/hour"
    throttle_sign_up_token: str = "10/hour"
    throttle_email_account: str = "5/hour;20/day"
    throttle_email_ip: str = "30/hour"
    throttle_email_token: str = "30/hour"
    throttle_emailed_token_account: str = "10/hour"
    throttle_emailed_token_ip: str = "30/hour"
    throttle_emailed_token_token: str = "30/hour"
    introspection: bool = Field(
        default=True, description="Answer introspection queries (always off in production)."
    )
    introspection_in_production: bool = Field(
        default=False, description="Allow introspection even in production."
    )
    max_list_length: int = Field(default=100, ge=1, description="Longest list input.")
    persisted_queries_dir: str | None = Field(
        default=None,
        description="Directory of registered operations: *.graphql files (one operation "
        "each) and *.json Apollo persisted query manifests (a mobile app's build writes "
        "one). The web console's own are always registered.",
    )
    persisted_queries_only: bool = Field(
        default=False,
        description="Allowlist mode: run only registered operations (the web console's "
        "and those of persisted_queries_dir).",
    )
    persisted_queries_ttl_days: int = Field(
        default=30,
        ge=1,
        description="With Redis, how long a query registered at run time (automatic "
        "persisted queries) is kept after its last use.",
    )
    client_ip_header: str | None = Field(
        default=None,
        description="Header a trusted reverse proxy sets to the client address "
        "(e.g. x-forwarded-for); unset uses the TCP peer.",
    )
    trusted_proxy_hops: int = Field(
        default=1, ge=1, description="How many trusted proxies append to client_ip_header."
    )
    # Request limits, checked before the query is parsed (app/request_limits.py).
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest request body (413 above it)."
    )
    max_query_length: int = Field(
        default=20_000, ge=100, description="Longest GraphQL document, in characters."
    )
    max_variables: int = Field(default=50, ge=1, description="Most variables in one request.")
    max_aliases: int = Field(
        default=30, ge=0, description="Most aliases in one document (MAX_ALIASES_EXCEEDED)."
    )
    # Query cost (schema/cost.py) and its leaky bucket per caller (resolvers/cost_bucket.py).
    max_query_cost: int = Field(
        default=50_000, ge=1, description="Most a single query may cost (MAX_COST_EXCEEDED)."
    )
    cost_bucket_size: int = Field(
        default=100_000, ge=1, description="Points a caller's bucket holds (maximumAvailable)."
    )
    cost_restore_rate: float = Field(
        default=5000.0, gt=0, description="Points a second the bucket refills (restoreRate)."
    )
    # Security headers on every response (app/edge_middleware.py).
    hsts_seconds: int = Field(
        default=0,
        ge=0,
        description="Strict-Transport-Security max-age; 0 sends none (set it behind HTTPS).",
    )
    content_security_policy: str = Field(
        default="default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        description="CSP of every API (JSON, CSV) response.",
    )
    content_security_policy_html: str = Field(
        default="default-src 'self'; script-src 'self'; style-src 'self'; "
        "img-src 'self'; font-src 'self'; connect-src 'self'; worker-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
        description="CSP of HTML pages (the web console, GraphiQL in development): 'self' "
        "only, no data: URI, nothing inline (app/console.py serves them).",
    )

    # --- Operations (issue 10): logs, metrics, traces ---
    log_format: Literal["auto", "console", "json"] = Field(
        default="auto",
        description="Log lines: readable console text, or one JSON object per line; "
        "auto = JSON in production, console otherwise.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="The lowest level logged."
    )

    metrics_enabled: bool = Field(
        default=False,
        description="Serve Prometheus metrics: /metrics on the API, and on each worker "
        "host the exposition port metrics_worker_port (keep both off the public network).",
    )
    metrics_worker_port: int = Field(
        default=9191, ge=1, le=65535, description="Exposition port of the worker processes."
    )

    heartbeat_file: Path | None = Field(
        default=None,
        description="Each worker process touches this file every 10 s while it runs; "
        "`partnergraph healthcheck --heartbeat FILE` is the worker's liveness check.",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    # --- Events for integrations (issue 11): webhooks, idempotency, subscriptions ---
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Time allowed for one webhook attempt (connect+answer)."
    )
    webhook_retry_delays_seconds: list[float] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0],
        min_length=1,
        description="Delays before the 2nd, 3rd, ... attempt; the last repeats until "
        "webhook_retry_hours have passed since the event.",
    )
    webhook_retry_hours: float = Field(
        default=72, gt=0, description="A delivery is attempted for this long, then FAILED."
    )
    webhook_disable_after_hours: float = Field(
        default=72, gt=0, description="An endpoint failing for this long is disabled."
    )
    webhook_secret_overlap_hours: float = Field(
        default=24, gt=0, description="After a rotation the previous secret signs this long."
    )
    webhook_allow_private_targets: bool = Field(
        default=False,
        description="In production, allow webhook URLs on loopback and private addresses "
        "(refused by default: SSRF). Outside production they are always allowed.",
    )
    idempotency_ttl_hours: float = Field(
        default=24, gt=0, description="How long an Idempotency-Key answers its first response."
    )

    @model_validator(mode="after")
    def _production_is_locked_down(self) -> Settings:
        if self.production:
            if self.secret_key.get_secret_value() == DEV_SECRET:
                raise ValueError("PARTNERGRAPH_SECRET_KEY must be set in production")
            # Development conveniences are never on in production, whatever else says.
            self.graphiql = False
            self.introspection = self.introspection_in_production
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def listen_url(host: str, port: int) -> str:
    """The URL a browser on this machine uses for a server listening on host:port."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - every interface: name this machine
        host = "localhost"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
