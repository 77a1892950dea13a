"""One settings object for the whole server, read from ``VICINITY_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VICINITY_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/vicinity.db",
        description="sqlite:///… = embedded default; postgresql+psycopg://… = PostGIS.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis URL. Unset = embedded (in-memory presence, in-process tasks).",
    )
    var_dir: Path = Path("var")
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
    presence_ttl_s: int = 30 * 60
    max_batch: int = 100

    celery_eager: bool = Field(
        default=False, description="Run tasks in-process even with Redis (tests, debugging)."
    )

    # Delivery.
    push_max_retries: int = Field(default=5, description="Attempts per device before giving up.")
    fcm_http_retries: int = Field(
        default=2, description="In-request retries of FCM 500/503 by the HTTP client."
    )
    policy_version: str = "2026-11"

    @property
    def embedded(self) -> bool:
        return self.redis_url is None

    @property
    def outbox_path(self) -> Path:
        return self.var_dir / "outbox.jsonl"


@lru_cache
def get_settings() -> Settings:
    return Settings()
