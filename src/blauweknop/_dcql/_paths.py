"""Claims path pointers and value matching: OpenID4VP 1.0 section 7 (and 6.3 for ``values``).

:func:`select_paths` applies a claims path pointer to a JSON credential (section 7.1.1);
:class:`ClaimResolver` resolves a Claims Query (section 6.3) against one credential: the
selected claims whose value is accepted, or why none is. Both the wallet's plan and the
verifier's response check build on these, so the two sides select claims the same way.

Decisions, where the specification leaves room:

* Claims path pointers that run into a value of the wrong type select nothing (the
  specification's "return an error" means, for matching, that the claim is not there).
* **Numbers**: JSON has one number type, so ``values: [2]`` matches a claim ``2.0``; booleans
  and strings never match numbers.
* **Protected claims** (default: ``bsn``) are named here, once, for both sides; the rule that
  uses them is in the package docstring.

Imports only ``_query`` from this package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, NamedTuple

from ._query import ClaimsPath, ClaimsQuery, ClaimValue, bad, is_index

ConcretePath = tuple[str | int, ...]
"""A path to one claim that exists: keys and array indices only."""

DEFAULT_PROTECTED_NAMES = frozenset({"bsn"})
"""Claim names revealed only when a request names them by an explicit path (privacy rule)."""


class Selection(NamedTuple):
    """One claim selected by a claims path pointer: where it is and its value."""

    path: ConcretePath
    value: Any


def select_paths(claims: Any, path: Sequence[str | int | None]) -> list[Selection]:
    """Apply a claims path pointer to a JSON credential (section 7.1.1).

    Returns the selected claims in document order. When processing "returns an error" in
    the specification (a key applied to a non-object, an index or ``None`` applied to a
    non-array, or an empty result) the list is empty: for matching the claim is not there.

    >>> cred = {"name": "Arthur Dent", "degrees": [{"type": "BSc"}, {"type": "MSc"}],
    ...         "nationalities": ["British", "Betelgeusian"]}
    >>> [s.path for s in select_paths(cred, ["degrees", None, "type"])]
    [('degrees', 0, 'type'), ('degrees', 1, 'type')]
    >>> select_paths(cred, ["nationalities", 1])
    [Selection(path=('nationalities', 1), value='Betelgeusian')]
    >>> select_paths(cred, ["name", "first"])
    []

    Raises:
        MalformedError: ``dcql_invalid`` if ``path`` is not a claims path pointer.
    """
    # exact-type tests first: the ABC checks below cost more than the whole walk
    if (type(path) is not tuple and type(path) is not list) and (
        not isinstance(path, Sequence) or isinstance(path, str)
    ):
        raise bad("path", "must be a non-empty array")
    if not path:
        raise bad("path", "must be a non-empty array")
    current: list[Selection] = [Selection((), claims)]
    for i, comp in enumerate(path):
        nxt: list[Selection] = []
        if type(comp) is str or isinstance(comp, str):
            for p, v in current:
                if type(v) is not dict and not isinstance(v, Mapping):
                    return []
                if comp in v:
                    nxt.append(Selection((*p, comp), v[comp]))
        elif comp is None:
            for p, v in current:
                if not isinstance(v, list | tuple):
                    return []
                nxt.extend(Selection((*p, j), x) for j, x in enumerate(v))
        elif is_index(comp):
            for p, v in current:
                if not isinstance(v, list | tuple):
                    return []
                if comp < len(v):
                    nxt.append(Selection((*p, comp), v[comp]))
        else:
            raise bad(f"path[{i}]", "must be a string, a non-negative integer or null")
        current = nxt
    return current


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _value_matches(value: Any, accepted: Iterable[ClaimValue]) -> bool:
    """Section 6.3: "type and value of the claim both match exactly", in JSON's types: JSON
    has one number type, so ``2`` matches ``2.0``; a boolean is never a number and a string
    never a number (``1 != True != "1"``)."""
    for a in accepted:
        if _is_number(a) and _is_number(value):
            if value == a:  # Python compares int and float exactly (no rounding)
                return True
        elif type(value) is type(a) and value == a:
            return True
    return False


class ClaimFailure(NamedTuple):
    """Why a Claims Query selects nothing: ``claim_missing``, ``value_mismatch`` (or, in the
    wallet's plan, ``claim_protected``)."""

    code: str
    path: ClaimsPath
    message: str


class ClaimResolver:
    """Resolves Claims Queries against one credential's claims, each query once (the options
    of ``claim_sets`` share their claims).

    >>> resolve = ClaimResolver({"n": [1, 2.0, True]})
    >>> [s.path for s in resolve(ClaimsQuery(path=("n", None), values=(2,)))]
    [('n', 1)]
    >>> resolve(ClaimsQuery(path=("n", None), values=("1",))).code
    'value_mismatch'
    """

    __slots__ = ("_claims", "_done")

    def __init__(self, claims: Mapping[str, Any]) -> None:
        self._claims = claims
        # keyed by identity (a query need not be hashable); the query is kept alive with
        # its result so that its id cannot be reused
        self._done: dict[int, tuple[ClaimsQuery, list[Selection] | ClaimFailure]] = {}

    def __call__(self, cq: ClaimsQuery) -> list[Selection] | ClaimFailure:
        """The selected claims with an accepted value (section 6.3), or the failure."""
        if id(cq) not in self._done:
            self._done[id(cq)] = (cq, self._resolve(cq))
        return self._done[id(cq)][1]

    def _resolve(self, cq: ClaimsQuery) -> list[Selection] | ClaimFailure:
        found = select_paths(self._claims, cq.path)
        if not found:
            return ClaimFailure("claim_missing", cq.path, f"claim {list(cq.path)} is not present")
        if cq.values is not None:
            found = [s for s in found if _value_matches(s.value, cq.values)]
            if not found:
                return ClaimFailure(
                    "value_mismatch",
                    cq.path,
                    f"claim {list(cq.path)} has none of the asked values",
                )
        return found


def children(value: Any) -> list[tuple[str | int, Any]]:
    """The members of an object or the elements of an array, with their keys or indices."""
    if isinstance(value, Mapping):
        return list(value.items())
    if isinstance(value, list | tuple):
        return list(enumerate(value))
    return []


def leaf_paths(
    value: Any, *, prune: Callable[[ConcretePath], bool] | None = None
) -> list[ConcretePath]:
    """Paths to the leaf claims under ``value`` in document order, skipping every subtree
    whose path ``prune`` accepts (an empty object or array counts as a leaf).

    >>> leaf_paths({"a": {"b": 1, "c": [2, 3]}, "d": {}}, prune=lambda p: p == ("a", "b"))
    [('a', 'c', 0), ('a', 'c', 1), ('d',)]
    """
    out: list[ConcretePath] = []

    def walk(node: Any, path: ConcretePath) -> None:
        if path and prune is not None and prune(path):
            return
        members = children(node)
        if not members:
            if path:
                out.append(path)
            return
        for key, child in members:
            walk(child, (*path, key))

    walk(value, ())
    return out


def names_protected(path: Iterable[str | int | None], protected: AbstractSet[str]) -> bool:
    """Whether a key on ``path`` is a protected claim name.

    >>> names_protected(("subject", "bsn"), DEFAULT_PROTECTED_NAMES)
    True
    """
    return any(isinstance(k, str) and k in protected for k in path)


def dotted(path: Sequence[str | int | None]) -> str:
    """A path for messages: ``subject.cases[*].amount``.

    >>> dotted(("subject", "cases", None, "amount"))
    'subject.cases[*].amount'
    """
    out = ""
    for p in path:
        if p is None:
            out += "[*]"
        elif isinstance(p, int):
            out += f"[{p}]"
        else:
            out += f".{p}" if out else p
    return out
