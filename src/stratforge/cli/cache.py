"""``stratforge cache info`` and ``cache clear``: the result cache in the configured
database (the server serves identical runs from it; docs/api.md, "Result cache")."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from stratforge.cli.common import current_settings, out, user_errors


def info_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """How many backtests and search trials the result cache knows, and its limit."""
    from stratforge.cli.data import _session
    from stratforge.store.cache import cache_info

    settings = current_settings()
    with user_errors(), _session() as session:
        info = cache_info(session)
    fields = {
        "enabled": settings.result_cache,
        "max_entries": settings.result_cache_max_entries,
        "entries": info.entries,
        "backtests": info.backtests,
        "trials": info.trials,
        "hits": info.hits,
        "oldest_use": info.oldest_use.isoformat() if info.oldest_use else None,
    }
    if as_json:
        sys.stdout.write(json.dumps(fields) + "\n")
        return
    state = "on" if settings.result_cache else "off (STRATFORGE_RESULT_CACHE=false)"
    out.print(
        f"result cache {state}: {info.entries:,} of at most {fields['max_entries']:,} entries "
        f"({info.backtests:,} backtests, {info.trials:,} trials), served {info.hits:,} times",
        highlight=False,
    )


def clear_command() -> None:
    """Forget every entry: identical runs are computed again. Jobs and results stay."""
    from stratforge.cli.data import _session
    from stratforge.store.cache import clear_cache

    with user_errors(), _session() as session:
        cleared = clear_cache(session)
    out.print(f"cleared {cleared:,} result cache entries", highlight=False)
