"""Settings: one class, environment prefix ``STRATFORGE_``, reached through ``get_settings``."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated

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

    @field_validator("plugins_dirs", mode="before")
    @classmethod
    def _split_dirs(cls, value: object) -> object:
        if isinstance(value, str):
            return [Path(p) for p in value.split(os.pathsep) if p]
        return value

    @field_validator("blocked_plugins", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment; tests call ``cache_clear()``."""
    return Settings()
