"""One settings object for the whole server, read from ``VICINITY_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VICINITY_", extra="ignore")

    database_url: str = Field(
        default="",
        description="Unset = embedded SQLite file <var_dir>/vicinity.db; "
        "postgresql+psycopg://… = PostGIS.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis URL. Unset = embedded (in-memory presence, in-process tasks).",
    )
    var_dir: Path = Field(
        default=Path("var"), description="Local files: the embedded SQLite database, the outbox."
    )
    fcm_credentials: str | None = Field(
        default=None,
        validation_alias="GOOGLE_APPLICATION_CREDENTIALS",
        description="Service-account JSON for FCM. Unset = pushes go to the local outbox.",
    )
    fcm_project_id: str | None = None
    fcm_url: str | None = Field(
        default=None, description="Override of the FCM HTTP v1 endpoint (local stand-ins)."
    )

    # Presence: hysteresis and freshness (see geofence/core.py).
    max_accuracy_m: float = 150.0
    exit_margin_m: float = 25.0
    max_fix_age_s: int = 15 * 60
    max_speed_kmh: float = Field(
        default=300.0,
        gt=0,
        description="A fix that would mean moving faster than this since the user's last "
        "accepted fix is an impossible jump, ignored as `teleport` (geofence/jumps.py).",
    )
    presence_ttl_s: int = Field(
        default=30 * 60,
        description="Presence is deleted this long after the last observation (privacy bound).",
    )
    presence_stale_s: int = Field(
        default=25 * 60,
        description="Zones not observed for this long are exited (EXIT marked timeout), at the "
        "next observation or by the presence.expire job. Keep it below presence_ttl_s by more "
        "than presence_expire_every_s, or the TTL deletes presence before its EXIT is sent.",
    )
    presence_expire_every_s: int = Field(
        default=60, description="How often the presence.expire beat job looks for stale zones."
    )
    presence_lock_lease_s: float = Field(
        default=30.0,
        description="Lease of a user's presence lock; a request outliving it is fenced out "
        "(its presence is not saved) instead of overwriting newer state.",
    )
    presence_lock_wait_s: float = Field(
        default=2.0,
        description="How long a request waits for a user's presence lock before answering "
        "409 busy with Retry-After.",
    )
    max_clock_skew_s: float = Field(
        default=30.0,
        description="How far ahead of the server a phone's recorded_at may be; a batch ahead "
        "by less is shifted back to the server clock, by more refused (422).",
    )
    max_batch: int = 100
    db_pool_size: int = Field(
        default=16,
        ge=1,
        le=200,
        description="PostgreSQL connections per process, and the API's thread-pool size: "
        "each blocking request holds at most one, so none waits on the other and no "
        "overflow connection is opened and closed under load.",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest request body, in bytes; a larger one is refused (413) unread.",
    )
    deep_link_schemes: list[str] = Field(
        default=["https", "vicinity"],
        description="URL schemes an offer's deep link may use (the app's own and https).",
    )

    # Observability (server/metrics.py, server/logs.py).
    metrics: bool = Field(
        default=True,
        description="Serve Prometheus metrics at /metrics, without authentication: keep it "
        "off the public internet (proxy rule) or turn it off.",
    )
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto",
        description="Log lines as JSON, or readable console lines; auto = console when stderr "
        "is a terminal, else JSON.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    celery_eager: bool = Field(
        default=False, description="Run tasks in-process even with Redis (tests, debugging)."
    )

    # Delivery.
    push_max_retries: int = Field(default=5, description="Attempts per device before giving up.")
    fcm_http_retries: int = Field(
        default=2, description="In-request retries of FCM 500/503 by the HTTP client."
    )
    notification_sweep_age_s: float = Field(
        default=60.0,
        description="A notification still undelivered this long after it was due (created, "
        "or its retry planned) is enqueued again by the sweeper.",
    )
    notification_sweep_every_s: float = Field(
        default=30.0, description="How often Celery beat runs the notification sweeper."
    )
    funnel_flush_every_s: float = Field(
        default=60.0,
        gt=0,
        description="How often Celery beat moves the funnel's counts from Redis (or memory) "
        "to the database; counts not flushed yet are lost with Redis.",
    )
    store_cooldown_s: float = Field(
        default=24 * 60 * 60,
        ge=0,
        description="After a push from a store, no other push from it to that user for this "
        "long (offers and looks alike); 0 disables.",
    )
    dwell_step_s: float = Field(
        default=300.0,
        ge=30,
        le=3600,
        description="While a user stays in a zone after its DWELL, a DWELL checkpoint every "
        "this long: an offer asking for `dwell_minutes` fires at the first one at or past "
        "that time (so up to this late).",
    )
    visit_s: float = Field(
        default=30 * 60,
        gt=0,
        le=24 * 60 * 60,
        description="The expected visit: how long a place-bound push stays useful (its TTL, "
        "capped by the offer's end) unless the EXIT withdraws it sooner.",
    )
    broadcast_chunk_size: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="Users decided per task when a store broadcasts a flash offer.",
    )
    outbox_max_bytes: int = Field(
        default=10 * 1024 * 1024, description="The local outbox file is rotated past this size."
    )
    outbox_keep_files: int = Field(
        default=5, description="Rotated outbox files kept (outbox.jsonl.1 … .N)."
    )
    policy_version: str = Field(
        default="2026-11",
        description="The policy version in force until the operator publishes one.",
    )

    # Preferences and retention (the purge runs hourly from Celery beat).
    activation_max_days: int = Field(
        default=30, description="Longest a user may turn a segment on for."
    )
    notification_retention_days: int = Field(
        default=90, description="Notifications (and their deliveries) older than this are purged."
    )
    consent_retention_days: int = Field(
        default=3 * 365,
        description="Superseded consent-ledger lines older than this are purged; the latest "
        "line per user and purpose is kept as the proof of the current state.",
    )

    # In-memory copies kept current across processes (kernel/versions.py).
    index_check_s: float = Field(
        default=30.0,
        gt=0,
        description="How often each process compares its geofence index and EID table with "
        "the database's version counters and reloads when behind (covers lost pub/sub).",
    )
    store_max_spread_km: float = Field(
        default=50.0,
        gt=0,
        description="A geofence or beacon farther than this from its store's (other) "
        "geofences is refused (usually latitude and longitude swapped).",
    )
    max_fence_distance_m: float = Field(
        default=2000.0,
        gt=0,
        description="A geofence whose nearest point is farther than this from its store's "
        "location is refused (stores without a location are not checked).",
    )

    # Beacons (the zone rules are in beacons/zones.py).
    beacon_dwell_s: int = Field(default=120, description="Seconds in a beacon zone before DWELL.")
    beacon_path_loss_exponent: float = Field(
        default=2.0, description="n in the log-distance model: 2 in the open, 2-4 indoors."
    )
    beacon_exit_distance_m: float = 8.0
    beacon_exit_after_s: float = 30.0
    beacon_track_ttl_s: int = Field(
        default=10 * 60, description="How long one user's smoothed RSSI of a beacon is kept."
    )
    beacon_max_fix_distance_m: float = Field(
        default=1000.0,
        description="A sighting this far from the store geofence the user is in is flagged.",
    )
    beacon_silent_hours: float = Field(
        default=24.0, description="A beacon unheard for this long needs a visit."
    )
    beacon_low_battery_mv: int = 2400
    beacon_health_every_s: int = 60 * 60
    eid_skew_periods: int = 2
    eid_refresh_every_s: int = 5 * 60

    # Looks (looks/images.py): uploads are also bounded by max_body_bytes.
    look_image_max_bytes: int = Field(
        default=1_000_000, ge=1024, description="Largest look image upload, in bytes (413)."
    )
    look_image_max_pixels: int = Field(
        default=25_000_000,
        ge=1,
        description="Largest look image, in pixels (width x height); more is refused (422) "
        "before decoding, so a decompression bomb never fills memory.",
    )

    # Webhooks (events/targets.py).
    webhook_allow_private: bool | None = Field(
        default=None,
        description="Let webhooks reach private, loopback, link-local and reserved addresses "
        "(a receiver on this machine or network). Unset = only in the embedded default (no "
        "Redis: one machine, development, the demo); otherwise refused, so a store cannot make "
        "the server call the network it runs in.",
    )

    # The web console (console/): its map's tiles are its one resource from elsewhere.
    tile_url: str = Field(
        default="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="Map tiles of the console ({z}/{x}/{y}, optionally {s}); empty = none: "
        "the shapes over a blank background (a box without Internet).",
    )
    tile_attribution: str = Field(
        default='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
        "contributors",
        description="Credit shown on the map for its tiles (HTML).",
    )

    # Abuse limits (server/ratelimit.py, server/security.py, server/audit.py).
    rate_limits: bool = Field(
        default=True,
        description="Refuse callers over the rate limits below (429 with Retry-After); false "
        "turns every limit off.",
    )
    rate_signup_per_ip: str = Field(
        default="60/minute",
        description="Sign-ups (POST /v1/users) per client IP, in the notation of the `limits` "
        "library, several joined by ';' (e.g. '60/minute;1000/day'); empty = no limit.",
    )
    rate_events_per_token: str = Field(
        default="120/minute",
        description="Event reports (fixes, sightings, taps, opened pushes and looks) per user "
        "token; empty = no limit.",
    )
    rate_events_per_ip: str = Field(
        default="6000/minute",
        description="Event reports per client IP (many phones share one behind a carrier's "
        "NAT); empty = no limit.",
    )
    cors_origins: list[str] = Field(
        default=[],
        description="Origins a browser may call the API from (JSON list); empty = no CORS "
        "headers at all, so browsers keep other sites' pages out.",
    )
    https: bool = Field(
        default=False,
        description="The deployment is served over HTTPS only (a TLS proxy in front): send "
        "Strict-Transport-Security.",
    )
    audit_retention_days: int = Field(
        default=365,
        ge=1,
        description="Entries of the API keys' audit log older than this are purged.",
    )

    @field_validator("rate_signup_per_ip", "rate_events_per_token", "rate_events_per_ip")
    @classmethod
    def _rate(cls, value: str) -> str:
        # Refused at start rather than at the first request it would have limited.
        if value.strip():
            try:
                parse_many(value)
            except ValueError as error:
                raise ValueError(f"not a rate limit such as '120/minute': {value!r}") from error
        return value.strip()

    @model_validator(mode="after")
    def _database_in_var_dir(self) -> Settings:
        # Derived rather than a fixed default, so VICINITY_VAR_DIR moves the database too.
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'vicinity.db'}"
        return self

    @property
    def embedded(self) -> bool:
        return self.redis_url is None

    @property
    def webhooks_reach_private(self) -> bool:
        allowed = self.webhook_allow_private
        return self.embedded if allowed is None else allowed

    @property
    def outbox_path(self) -> Path:
        return self.var_dir / "outbox.jsonl"


@lru_cache
def get_settings() -> Settings:
    return Settings()
