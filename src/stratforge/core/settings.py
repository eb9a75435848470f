"""Settings: one class, environment prefix ``STRATFORGE_``, reached through ``get_settings``."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from stratforge.core.project import ProjectError, find_project


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("stratforge", appauthor=False))


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(Path(path).expanduser()))


class AgentKey(BaseModel):
    """An extra API key with a narrower reach than the server's own: for an agent or a
    program that should read (``read``), or read, submit and cancel jobs (``run``), and
    never delete, upload, import or clear anything."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Who holds it (in errors).")
    key: str = Field(min_length=16, max_length=200, description="The bearer token.")
    scope: Literal["read", "run"] = Field(description="read: GET only; run: also submit, cancel.")


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
        description="Directories whose *.py files are loaded as plugins (os.pathsep-separated), "
        "after the project's plugin folders.",
    )
    project: bool = Field(
        default=True,
        description="Load the plugin folders of the project around the working directory: the "
        "nearest pyproject.toml with [tool.stratforge], or stratforge.toml, walking up.",
    )
    project_dir: Path | None = Field(
        default=None,
        description="Look for the project from this folder instead of the working directory.",
    )
    project_file: Path | None = Field(
        default=None,
        description="The file marking the project found (absolute); set by discovery.",
    )
    project_plugins_dirs: Annotated[list[Path] | None, NoDecode] = Field(
        default=None,
        description="The project's plugin folders (absolute); found when the settings are made, "
        "unless given. Ray workers receive them from the driver, so they load the same plugins "
        "whatever their own working directory.",
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
    ray_min_search_s: float = Field(
        default=20.0,
        ge=0,
        description="CLI searches on Ray: in-process seconds of work a search must have left "
        "(measured from its first trials) for Ray to be started for it; 0: always start it.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the database (postgresql+psycopg://...); "
        "default: a SQLite file in the data directory.",
    )
    api_key: str | None = Field(
        default=None, description="When set, every API endpoint but /health needs this bearer key."
    )
    agent_keys: list[AgentKey] = Field(
        default_factory=list,
        description='More keys, each limited to a scope (JSON: [{"name": "claude", '
        '"key": "...", "scope": "read" or "run"}]); needs api_key set.',
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
    result_cache: bool = Field(
        default=True,
        description="Serve a backtest or search trial identical to a stored one (same spec, "
        "data, plugin code, stratforge) from storage instead of running it again.",
    )
    result_cache_max_entries: int = Field(
        default=100_000,
        ge=1,
        description="Entries the result cache keeps; past it the least recently used go.",
    )

    _project_error: ProjectError | None = PrivateAttr(default=None)

    @field_validator("plugins_dirs", "data_roots", "project_plugins_dirs", mode="before")
    @classmethod
    def _split_dirs(cls, value: object) -> object:
        if isinstance(value, str):
            return [Path(p) for p in value.split(os.pathsep) if p]
        return value

    @model_validator(mode="after")
    def _agent_keys_need_the_servers_key(self) -> Settings:
        """Scoped keys narrow a keyed server; on a server without a key they would narrow
        nothing (every request is let in), so that is refused, as are keys given twice."""
        if self.agent_keys and not self.api_key:
            raise ValueError(
                "agent_keys needs api_key: set STRATFORGE_API_KEY too (a server without a "
                "key lets every request in, so a narrower key would limit nothing)"
            )
        keys = [agent.key for agent in self.agent_keys]
        if len(set(keys)) != len(keys) or (self.api_key and self.api_key in keys):
            raise ValueError("agent_keys: each key must differ from the others and from api_key")
        return self

    @model_validator(mode="after")
    def _discover_project(self) -> Settings:
        """Find the project once, here, and keep its folders as absolute paths: the settings
        travel to Ray workers (and server processes) as data, and a worker must load the
        driver's project, not whatever its own working directory holds. A bad project file
        is kept and raised by ``plugin_directories``, where loading plugins reports errors."""
        if not self.project or self.project_plugins_dirs is not None:
            return self
        try:
            found = find_project(self.project_dir)
        except ProjectError as exc:
            self._project_error = exc
            return self
        self.project_file = found.config_file if found else None
        self.project_plugins_dirs = list(found.plugin_dirs) if found else []
        return self

    @field_serializer("plugins_dirs", "project_plugins_dirs")
    def _absolute_dirs(self, value: list[Path] | None) -> list[Path] | None:
        """Serialised (for a Ray worker) as absolute paths, resolved in this process's working
        directory: ``--plugins-dir ./mine`` means the same folder on every worker."""
        return None if value is None else [_absolute(p) for p in value]

    @property
    def plugin_directories(self) -> list[Path]:
        """Every directory whose ``*.py`` files are plugins: the project's folders, then
        ``plugins_dirs``; absolute, each once (a project folder also given by
        ``--plugins-dir`` is not loaded twice). Raises ProjectError for a bad project file."""
        if self._project_error is not None:
            raise self._project_error
        directories: list[Path] = []
        for directory in [*(self.project_plugins_dirs or []), *self.plugins_dirs]:
            absolute = _absolute(directory)
            if absolute not in directories:
                directories.append(absolute)
        return directories

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
def get_settings() -> Settings:
    """The process's settings, read once from the environment. Code that is handed settings
    (the server's app, a Ray worker, a test) uses those and never replaces these; tests
    start each from a fresh read with ``get_settings.cache_clear()``."""
    return Settings()
