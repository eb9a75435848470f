"""The markers every stratforge hook is declared and implemented with.

The hooks themselves are declared by the packages that own what they register (a contract
is a futures idea, so ``register_contracts`` is declared in ``stratforge.futures.hooks``),
and composed into one manager by ``stratforge.core.plugins``. This floor knows no domain
types: only that registration hooks have the shape ``register_<plural>(register)``.
"""

from __future__ import annotations

import pluggy

PROJECT_NAME = "stratforge"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
