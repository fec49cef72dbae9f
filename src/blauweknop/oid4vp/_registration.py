"""Is the verifier registered for what it asks? (the trust list's ``verifier.may_request``)

A DCQL query asks, per Credential Query, for a credential type and claims. Each must be covered
by a permission of the requesting organisation: the type's ``vct`` (a W3C ``type_values``
option maps to the profile's ``vct``) and each claim path under a permitted path (a permitted
path covers its subtree; ``null`` in it matches any array index). W3C paths drop their leading
``credentialSubject``. A query without ``claims`` asks only for the always-shown claims.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._dcql import DCQLQuery
from .._profile import all_profiles, w3c_type_iris
from .._trust import RequestPermission

__all__ = ["over_asking"]


def _covers(permitted: Sequence[str | int | None], path: Sequence[str | int | None]) -> bool:
    if len(permitted) > len(path):
        return False
    return all(p is None or p == q for p, q in zip(permitted, path, strict=False))


def _vcts_of(
    fmt: str, cq_vcts: Sequence[str] | None, cq_types: Sequence[Sequence[str]] | None
) -> list[str | None]:
    if fmt == "dc+sd-jwt":
        return [*cq_vcts] if cq_vcts else [None]
    if fmt == "ldp_vc" and cq_types is not None:
        out: list[str | None] = []
        for option in cq_types:
            found = None
            for p in all_profiles():
                if w3c_type_iris([p.w3c_type])[0] in option or p.w3c_type in option:
                    found = p.vct
            out.append(found)
        return out
    return [None]


def over_asking(dcql: DCQLQuery, permissions: Sequence[RequestPermission]) -> tuple[str, ...]:
    """What ``dcql`` asks beyond ``permissions``: one line per type or claim (empty: nothing)."""
    by_vct: dict[str, list[tuple[str | int | None, ...]]] = {}
    for perm in permissions:
        by_vct.setdefault(perm.vct, []).extend(perm.claims)
    extra: list[str] = []
    for cq in dcql.credentials:
        vcts = _vcts_of(cq.format, cq.vct_values, cq.type_values)
        for vct in vcts:
            if vct is None or vct not in by_vct:
                extra.append(f"{cq.id}: credential type {vct or cq.format!r} is not registered")
                continue
            for claim in cq.claims or ():
                path = list(claim.path)
                if cq.format == "ldp_vc":
                    if not path or path[0] != "credentialSubject":
                        extra.append(f"{cq.id}: {_show(path)} is outside credentialSubject")
                        continue
                    path = path[1:]
                if not path or not any(_covers(p, path) for p in by_vct[vct]):
                    extra.append(f"{cq.id}: {_show(list(claim.path))} is not registered")
    return tuple(dict.fromkeys(extra))


def _show(path: Sequence[str | int | None]) -> str:
    return ".".join("*" if p is None else str(p) for p in path) or "(whole credential)"
