"""pyld's JSON-LD processor with a per-loader memo of processed contexts (used by
:mod:`._jsonld` and :mod:`._compiled`)."""

from __future__ import annotations

import time
from typing import Any

from pyld import jsonld

from .._errors import ContextError
from ._loader import OfflineLoader

__all__ = ["_Processor"]

# pyld freezes processed contexts; its frozen mapping type (no direct dependency on it here)
_FROZEN: type = type(jsonld.freeze({}))


class _Processor(jsonld.JsonLdProcessor):  # type: ignore[misc]
    """pyld's processor with a per-loader memo of processed contexts.

    pyld caches a processed context per *active context identity*, but builds a fresh
    identity every time a type-scoped (non-propagating) context is applied, so the VC and
    proof contexts are reprocessed on every node. Context processing is a pure function of
    the (frozen) active context, the local context and the flags, so results are memoised
    here when the active context is frozen and the local context is a URL, a list of URLs,
    or an object the loader itself served (ids pinned alive by the loader).
    """

    def __init__(self, loader: OfflineLoader, dropped: list[str | None]) -> None:
        super().__init__(on_property_dropped=dropped.append)
        self._loader = loader
        self.deadline = float("inf")

    def _create_node_map(self, *args: Any, **kwargs: Any) -> Any:
        # pyld adds every value with a linear search for duplicates: quadratic in the values
        # of one property (a 200 KB presentation took a minute). It recurses per value, so
        # a deadline checked here bounds that work (Limits.canonicalization_seconds).
        if time.monotonic() > self.deadline:
            raise ContextError("canonicalization_limit", "RDF conversion exceeded its time limit")
        return super()._create_node_map(*args, **kwargs)

    def _memo_key(self, local_ctx: Any) -> Any:
        if isinstance(local_ctx, str):
            return local_ctx
        if isinstance(local_ctx, list) and all(isinstance(c, str) for c in local_ctx):
            return tuple(local_ctx)
        if isinstance(local_ctx, (dict, _FROZEN)) and id(local_ctx) in self._loader.stable_ids:
            return ("obj", id(local_ctx))
        return None

    def _process_context(
        self,
        active_ctx: Any,
        local_ctx: Any,
        options: Any,
        override_protected: bool = False,
        propagate: bool = True,
        validate_scoped: bool = True,
        cycles: Any = None,
    ) -> Any:
        frozen = isinstance(active_ctx, _FROZEN)  # cached contexts are frozen, others mutable
        uid = active_ctx.get("_uuid") if frozen else None
        lkey = self._memo_key(local_ctx) if uid is not None and not cycles else None
        if lkey is None:
            return super()._process_context(
                active_ctx,
                local_ctx,
                options,
                override_protected,
                propagate,
                validate_scoped,
                cycles,
            )
        key = (uid, lkey, override_protected, propagate, validate_scoped)
        memo = self._loader.context_memo
        hit = memo.get(key)
        if hit is not None and (hit[0] is local_ctx or isinstance(local_ctx, (str, list))):
            return hit[1]
        result = super()._process_context(
            active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
        )
        memo[key] = (local_ctx, result)
        return result
