"""Settings: one class, environment prefix ``STRATFORGE_``, reached through ``get_settings``."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("stratforge", appauthor=False))


class Settings(BaseSettings):
    """Everything configurable about a stratforge process."""

    model_config = SettingsConfigDict(
        env_prefix="STRATFORGE_", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Where stratforge writes everything: database, results, datasets, logs.",
    )
    plugins_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        validation_alias="STRATFORGE_PLUGINS_DIR",
        description="Directories whose *.py files are loaded as plugins (os.pathsep-separated).",
    )
    data_roots: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Folders whose files requests from the network may read (os.pathsep-"
        "separated); default: the files/ folder in the data directory. The CLI reads any file.",
    )
    disable_plugin_autoload: bool = Field(
        default=False, description="Skip plugins installed through the 'stratforge' entry points."
    )
    blocked_plugins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Plugin names never to load (comma-separated)."
    )

    ray_address: str | None = Field(
        default=None,
        description="Address of a running Ray cluster (ray start --head); unset: a local Ray.",
    )
    ray_temp_dir: Path | None = Field(
        default=None, description="Ray's session/socket directory for a local Ray (keep it short)."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the database (postgresql+psycopg://...); "
        "default: a SQLite file in the data directory.",
    )
    api_key: str | None = Field(
        default=None, description="When set, every API endpoint but /health needs this bearer key."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Origins allowed by CORS (comma-separated)."
    )
    job_executor: Literal["ray", "serial"] = Field(
        default="ray", description="Where the server runs jobs: Ray workers, or in-process threads."
    )
    max_concurrent_jobs: int = Field(default=2, ge=1, description="Jobs running at once.")
    run_jobs: bool = Field(
        default=True, description="Run queued jobs in this server (false: an API-only process)."
    )
    max_trials: int = Field(default=20_000, ge=1, description="Largest search the API accepts.")
    max_upload_mb: float = Field(default=200.0, gt=0, description="Largest dataset upload.")
    max_request_kb: float = Field(
        default=1024.0, gt=0, description="Largest request body other than an upload (HTTP 413)."
    )
    job_time_limit_s: float = Field(
        default=6 * 3600.0, gt=0, description="A job running longer is stopped and failed."
    )
    job_memory_limit_mb: float | None = Field(
        default=None,
        gt=0,
        description="Heap cap of a job on a Ray worker (MemoryError past it); unset: none.",
    )
    job_attempts: int = Field(
        default=3, ge=1, description="Starts of a job (after crashes) before it is failed."
    )

    @field_validator("plugins_dirs", "data_roots", mode="before")
    @classmethod
    def _split_dirs(cls, value: object) -> object:
        if isinstance(value, str):
            return [Path(p) for p in value.split(os.pathsep) if p]
        return value

    def network_roots(self) -> list[Path]:
        """The folders requests from the network may read, resolved (symlinks followed)."""
        roots = self.data_roots or [self.data_dir / "files"]
        return [root.expanduser().resolve() for root in roots]

    @field_validator("blocked_plugins", "cors_origins", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value


@lru_cache(maxsize=1)
def _from_environment() -> Settings:
    return Settings()


_override: Settings | None = None


def get_settings() -> Settings:
    """The process's settings: those set by ``use_settings`` (the server, a Ray worker, a
    test), else read once from the environment."""
    return _override if _override is not None else _from_environment()


def use_settings(settings: Settings | None) -> None:
    """Make *settings* what ``get_settings`` returns in this process (None: the environment)."""
    global _override
    _override = settings


def _cache_clear() -> None:
    use_settings(None)
    _from_environment.cache_clear()


get_settings.cache_clear = _cache_clear  # type: ignore[attr-defined]
