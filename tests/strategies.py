"""Hypothesis strategies shared by the whole test suite, and its Hypothesis settings.

Profiles (choose with the environment variable ``HYPOTHESIS_PROFILE``):

* ``ci`` (default): modest example counts, no deadline, so every property file runs in well
  under a minute;
* ``thorough``: many more examples for a nightly or pre-release run;
* ``quick``: a smoke run while editing.

Tests take their settings from :func:`suite_settings`, so the profile applies to them without
loading a profile globally (other test files keep Hypothesis' own defaults)::

    @suite_settings()
    @given(claims=sd_claims())
    def test_something(claims): ...

Claim trees are JSON-like values in which object properties and array elements may be wrapped
in :class:`blauweknop.SD` (selectively disclosable), nested to any depth (recursive
disclosures). Paths follow our claim-path selection: claim names, array indices (of the full,
all-disclosed array) and ``None`` for "every element".
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from blauweknop import SD

__all__ = [
    "RESERVED_NAMES",
    "b64url_text",
    "claim_names",
    "claim_paths",
    "iter_paths",
    "json_scalars",
    "json_values",
    "sd_claims",
    "sd_trees",
    "selections",
    "suite_settings",
]

settings.register_profile("ci", max_examples=60, deadline=None, print_blob=True)
settings.register_profile("thorough", max_examples=1000, deadline=None, print_blob=True)
settings.register_profile("quick", max_examples=10, deadline=None)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")


def suite_settings(**overrides: Any) -> settings:
    """The active profile's settings, with per-test ``overrides`` (e.g. health checks)."""
    return settings(settings.get_profile(PROFILE), **overrides)


# Names the SD machinery or the verifier's time/holder checks give a meaning to. Random trees
# avoid them so that a generated credential is valid by construction; the rejection tests
# cover each of them on purpose.
RESERVED_NAMES = frozenset({"_sd", "...", "_sd_alg", "cnf", "exp", "nbf", "iat"})

_ASCII_NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=8)
_UNICODE_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12
)


def claim_names() -> st.SearchStrategy[str]:
    """Claim names: mostly ASCII identifiers, sometimes arbitrary Unicode (including ``""``)."""
    return st.one_of(_ASCII_NAMES, _ASCII_NAMES, _UNICODE_TEXT).filter(
        lambda n: n not in RESERVED_NAMES
    )


def json_scalars() -> st.SearchStrategy[Any]:
    """JSON scalars that survive a JSON round trip exactly (finite floats, no surrogates)."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**53), max_value=2**53),
        st.floats(allow_nan=False, allow_infinity=False),
        _UNICODE_TEXT,
    )


def json_values(max_leaves: int = 20) -> st.SearchStrategy[Any]:
    """Arbitrary JSON values without SD marks."""
    return st.recursive(
        json_scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(claim_names(), inner, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def _maybe_sd(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(inner, inner.map(SD))


def sd_trees(max_leaves: int = 16) -> st.SearchStrategy[Any]:
    """JSON values whose object properties and array elements may be SD-marked, nested."""
    return st.recursive(
        json_scalars(),
        lambda inner: st.one_of(
            st.lists(_maybe_sd(inner), max_size=4),
            st.dictionaries(claim_names(), _maybe_sd(inner), max_size=4),
        ),
        max_leaves=max_leaves,
    )


def sd_claims(max_leaves: int = 16, min_size: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """A claims object (the top level of a credential) with random SD marks."""
    return st.dictionaries(
        claim_names(), _maybe_sd(sd_trees(max_leaves)), min_size=min_size, max_size=5
    )


Path = tuple[str | int | None, ...]


def iter_paths(node: Any, prefix: Path = ()) -> Iterator[tuple[Path, bool]]:
    """Every path below ``node`` (full-array indices), with whether that node is SD-marked."""
    if isinstance(node, SD):  # only reached for the value of a marked member
        yield from iter_paths(node.value, prefix)
        return
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for k, v in items:
        path = (*prefix, k)
        yield path, isinstance(v, SD)
        yield from iter_paths(v.value if isinstance(v, SD) else v, path)


def claim_paths(tree: Any) -> st.SearchStrategy[Path]:
    """One path into ``tree``; array indices are sometimes replaced by ``None`` (wildcard),
    and now and then the path names a member that does not exist."""
    paths = [p for p, _ in iter_paths(tree)]
    missing = st.tuples(st.just("\u2400no-such-claim"))
    if not paths:
        return missing

    @st.composite
    def one(draw: st.DrawFn) -> Path:
        path = draw(st.sampled_from(paths))
        if draw(st.integers(0, 9)) == 0:
            return draw(missing)
        return tuple(
            None if isinstance(el, int) and draw(st.integers(0, 3)) == 0 else el for el in path
        )

    return one()


def selections(tree: Any, max_size: int = 4) -> st.SearchStrategy[list[Path]]:
    """A holder's selection: a few claim paths into ``tree`` (possibly none)."""
    return st.lists(claim_paths(tree), max_size=max_size)


def b64url_text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Text over the base64url alphabet, of any length (canonical or not)."""
    return st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        max_size=max_size,
    )
