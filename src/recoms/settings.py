"""The one settings class: every `RECOMS_*` environment variable, read alike by every command."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RECOMS_", extra="ignore")

    env: str = Field("dev", description="dev or prod; prod refuses unsafe defaults")
    database_url: str = Field(
        f"sqlite:///{DEFAULT_DATA_DIR / 'recoms.db'}",
        description="SQLAlchemy URL of the store: sqlite:///path or postgresql://...",
    )
    artifacts_dir: Path | None = Field(
        None, description="where model snapshots are written; default: beside the SQLite file or ./var/artifacts"
    )
    token_store: str = Field("database", description="'database' or a redis:// URL")
    token_ttl_seconds: int = Field(3600, ge=10, description="lifetime of a contact token")
    host: str = "127.0.0.1"
    port: int = 8000
    http_header_timeout_seconds: float = Field(
        10.0, gt=0, description="a request's head must arrive within this; idle keep-alive connections close after it"
    )
    http_max_header_bytes: int = Field(
        65536, ge=4096, description="the largest request line and headers accepted (431 above)"
    )
    body_timeout_seconds: float = Field(60.0, gt=0, description="a request body must arrive within this (408 after)")
    max_body_bytes: int = Field(1_000_000, ge=1024, description="largest JSON body accepted (413 above)")
    max_feed_bytes: int = Field(1_073_741_824, ge=1024, description="largest feed upload accepted")
    max_batch_events: int = Field(1000, ge=1, description="most events in one request")
    feed_fetch_timeout_seconds: float = Field(
        60.0, gt=0, description="a feed download's connect timeout and longest wait for one read"
    )
    feed_fetch_deadline_seconds: float = Field(
        600.0, gt=0, description="the longest a whole feed download may take (connect, redirects, every read)"
    )
    feed_fetch_allow_private: bool = Field(
        False, description="let feed URLs reach loopback, private and link-local addresses (the shop's own "
        "network); off, only public addresses are fetched",
    )
    feed_imports_max: int = Field(
        4, ge=1, description="feed imports a server process runs at once, on threads of their own (429 beyond)"
    )
    feed_imports_per_account: int = Field(
        2, ge=1, description="feed imports one account may have queued or running at once (429 beyond)"
    )
    rate_limit_per_second: float = Field(
        0.0, ge=0, description="requests per second per key on tracking endpoints; 0 = no limit"
    )
    rate_limit_per_key_per_second: float = Field(
        500.0, ge=0, description="requests per second one API key may make (bursts of twice that); 0 = no limit"
    )
    rate_limit_per_site_per_second: float = Field(
        200.0, ge=0, description="tracking requests per second per public site id; 0 = no limit"
    )
    auth_failures_per_minute: float = Field(
        30.0, ge=0, description="wrong API keys one client address may send a minute before it gets 429; 0 = no limit"
    )
    trusted_proxies: str = Field(
        "", description="addresses or networks (comma-separated) of reverse proxies whose X-Forwarded-For is "
        "believed; from anyone else the header is ignored",
    )
    protect_docs: bool = Field(False, description="/docs, /openapi.json and /metrics need an API key")
    jobs: bool = Field(
        True, description="this process runs the background jobs (training, feed pulls, token purge); "
        "`recoms serve` runs them in one process of its own and its HTTP workers only serve; set false on "
        "API replicas when one `recoms jobs` runs them for all",
    )
    snapshot_poll_seconds: float = Field(
        2.0, gt=0, description="how often serve looks for new snapshots and changed products"
    )
    retrain_interval_seconds: float = Field(
        0.0, ge=0, description="serve retrains every N seconds in the background; 0 = never"
    )
    feed_pull_interval_seconds: float = Field(
        0.0, ge=0, description="serve pulls each account's feed URL every N seconds; 0 = never"
    )
    cors_origins: str = Field(
        "*", description="origins (comma-separated, or *) whose pages may call tracking and the ES-TOKEN "
        "recommendation endpoint from the browser",
    )
    public_url: str | None = Field(
        None, description="the URL browsers reach this server at (the tracking snippet loads the tracker from "
        "it); default: the host the request came to",
    )
    training_window_days: int = Field(365, ge=1, description="events older than this are not trained on")
    tuning_time_factor: float = Field(
        2.0, ge=0, description="training tunes each shop's algorithms on its own held-out orders for at most this "
        "many times its untuned training time (at least 5 s, but at most 2.5 times a shorter "
        "training, and at least 1 s); "
        "0 = no tuning (the shop's regime defaults)"
    )
    attribution_window_days: float = Field(
        7.0, gt=0, description="a purchase of a recommended product by the same contact within this many days of "
        "its last click (else impression) is credited to that recommendation"
    )
    recommendation_log: bool = Field(
        True, description="write every served list to the recommendation log (false: responses still carry a "
        "recommendation id, nothing is stored; for measuring its cost)"
    )
    recommendation_log_flush_seconds: float = Field(
        1.0, gt=0, description="how often the served lists queued in memory are written to the store"
    )
    answer_cache_entries: int = Field(
        4096, ge=0, description="per account, how many answers that depend on nothing of the visitor (similar, "
        "also bought, bestsellers, ... without contact rules) each server process keeps for reuse until the next "
        "snapshot or catalog change; 0 = none"
    )
    contact_answer_cache_entries: int = Field(
        4096, ge=0, description="per account, how many returning customers' answers that depend only on their "
        "history (personal, recently viewed, without contact rules) each server process keeps for reuse until "
        "their next event, the next snapshot or catalog change; 0 = none"
    )
    console_session_hours: float = Field(12.0, gt=0, description="a web console sign-in lasts this long")
    demo_shop: bool = Field(False, description="serve the demo storefront at /demo/shop (`make run` turns it on)")
    log_level: str = "info"

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.env == "prod" and self.database_url.startswith("sqlite") and self.host not in (
            "127.0.0.1",
            "localhost",
        ):
            # SQLite is one machine's store: a public prod server must name its database.
            raise ValueError("RECOMS_ENV=prod with a public host needs RECOMS_DATABASE_URL (PostgreSQL)")
        return self

    @property
    def trusted_proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(p.strip(), strict=False) for p in self.trusted_proxies.split(",") if p.strip()]

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def artifacts_path(self) -> Path:
        if self.artifacts_dir is not None:
            return self.artifacts_dir
        if self.database_url.startswith("sqlite:///"):
            db_file = Path(self.database_url.removeprefix("sqlite:///"))
            return db_file.parent / "artifacts"
        return DEFAULT_DATA_DIR / "artifacts"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
