"""The verifier's response check: OpenID4VP 1.0 sections 6.4, 8.1 and 8.6 (paths: section 7).

:func:`check_response` checks that the verified presentations of a ``vp_token`` answer the
DCQL query (section 6): the right format and type, holder binding where required, every
requested claim with an accepted value (the verifier must not rely on the wallet for value
constraints, sections 6.4.1 and 14.11), the credential set rules, and no claim revealed
beyond the request.

Decisions, where the specification leaves room:

* **Verifier and ``claim_sets``**: the first satisfied option is reported; claims of every
  satisfied option count as requested when looking for extra claims (a wallet may deviate
  from the first option, section 6.4.1).
* **Mismatching presentations** fail the whole response by default (a typed reason for the
  creditor); ``discard_mismatched=True`` drops them instead, as section 8.6 describes.
* **Protected claims** (the privacy rule of the package docstring): a protected claim that
  arrives under a request for its ancestor is an *extra* claim.

Imports only ``_query`` and ``_paths`` from this package.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .._errors import HolderBindingError, PolicyError
from ._paths import (
    DEFAULT_PROTECTED_NAMES,
    ClaimFailure,
    ClaimResolver,
    ConcretePath,
    Selection,
    dotted,
    leaf_paths,
    names_protected,
)
from ._query import SD_JWT_VC, W3C_FORMATS, CredentialQuery, DCQLQuery

# Claims a verifier always sees and that never count as "extra" when disclosure paths are
# not reported: SD-JWT VC section 3.2.2 and the VC Data Model 2.0 section 4 members.
_W3C_TECHNICAL = frozenset(
    {
        "@context",
        "id",
        "type",
        "issuer",
        "validFrom",
        "validUntil",
        "issuanceDate",
        "expirationDate",
        "credentialStatus",
        "credentialSchema",
        "proof",
        "name",
        "description",
        "evidence",
        "termsOfUse",
        "refreshService",
        "renderMethod",
    }
)
_TECHNICAL = {
    SD_JWT_VC: frozenset(
        {"iss", "iat", "nbf", "exp", "vct", "vct#integrity", "cnf", "status", "_sd_alg"}
    ),
    **dict.fromkeys(W3C_FORMATS, _W3C_TECHNICAL),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class PresentedCredential:
    """A presentation after its format layer verified it, described for the DCQL check.

    Attributes:
        format: the format it was presented in.
        types: ``vct`` (plus extended types) or the W3C ``type`` values.
        claims: the claims the verifier sees (SD-JWT VC payload with disclosures applied;
            for W3C the revealed credential document).
        disclosed: the paths revealed through selective disclosure, as the format layer
            reports them (``VerifiedSDJWT.disclosed``); ``None`` if unknown, in which case
            every non-technical leaf claim counts when looking for extra claims.
        holder_bound: whether a holder-binding proof was verified.
    """

    format: str
    types: tuple[str, ...]
    claims: Mapping[str, Any]
    disclosed: AbstractSet[tuple[str | int | None, ...]] | None = None
    holder_bound: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class ExtraClaim:
    """A claim revealed beyond what the query asked for."""

    query_id: str
    index: int
    path: ConcretePath

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {"query_id": self.query_id, "index": self.index, "path": list(self.path)}


@dataclass(frozen=True, kw_only=True, slots=True)
class DiscardedPresentation:
    """A presentation dropped because it does not match its query (section 8.6)."""

    query_id: str
    index: int
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "query_id": self.query_id,
            "index": self.index,
            "code": self.code,
            "message": self.message,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class ResponseCheck:
    """A response that answers the query.

    Attributes:
        answered: query ids with at least one accepted presentation, in query order.
        claim_sets: per answered query, the ``claim_sets`` option index each accepted
            presentation satisfied (``None`` without ``claim_sets``).
        credential_sets: per Credential Set Query, the index of the satisfied option
            (``None`` for an unanswered optional set).
        extra_claims: claims revealed beyond the request (see ``strict_minimal``).
        discarded: presentations dropped with ``discard_mismatched=True``.
    """

    answered: tuple[str, ...]
    claim_sets: Mapping[str, tuple[int | None, ...]]
    credential_sets: tuple[int | None, ...]
    extra_claims: tuple[ExtraClaim, ...]
    discarded: tuple[DiscardedPresentation, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "answered": list(self.answered),
            "claim_sets": {k: list(v) for k, v in self.claim_sets.items()},
            "credential_sets": list(self.credential_sets),
            "extra_claims": [e.to_dict() for e in self.extra_claims],
            "discarded": [d.to_dict() for d in self.discarded],
        }


def _check_presentation(
    q: CredentialQuery, pc: PresentedCredential, where: str
) -> tuple[int | None, list[Selection]]:
    """One presentation against its query: (claim_sets option index, selections) or raise."""
    if pc.format != q.format:
        raise PolicyError(
            "format_mismatch", f"{where}: format {pc.format!r} but {q.format!r} was requested"
        )
    if not q.accepts_type(pc.format, pc.types):
        raise PolicyError(
            "type_mismatch", f"{where}: types {list(pc.types)} do not match the query's meta"
        )
    if q.require_cryptographic_holder_binding and not pc.holder_bound:
        raise HolderBindingError(
            "key_binding_missing", f"{where}: holder binding required but not proven"
        )
    resolve = ClaimResolver(pc.claims)
    first: ClaimFailure | None = None
    chosen: int | None = None
    covered: dict[ConcretePath, Selection] = {}
    for idx, option in enumerate(q.claim_options()):
        found: list[Selection] = []
        failed: ClaimFailure | None = None
        for cq in option:
            res = resolve(cq)
            if isinstance(res, ClaimFailure):
                failed = res
                break
            found.extend(res)
        if failed is None:
            # The first satisfied option is reported; every satisfied option counts as
            # requested when looking for extra claims (a wallet may pick any, section 6.4.1).
            chosen = idx if chosen is None else chosen
            covered.update((x.path, x) for x in found)
        elif chosen is None:
            first = first or failed
    if chosen is not None:
        return (chosen if q.claim_sets is not None else None), list(covered.values())
    assert first is not None  # an option without claims cannot fail
    extra = " (no claim_sets option is satisfied)" if q.claim_sets is not None else ""
    raise PolicyError(first.code, f"{where}: {first.message}{extra}")


def _coverage(
    sels: Sequence[Selection], protected: AbstractSet[str]
) -> Callable[[tuple[Any, ...]], bool]:
    """A test for "this revealed path was requested": it is a requested claim, an ancestor
    of one (needed to reach it), or inside a requested subtree and not a protected claim."""
    targets = {s.path for s in sels}
    ancestors = {s.path[:i] for s in sels for i in range(1, len(s.path))}

    def covered(path: tuple[Any, ...]) -> bool:
        if path in targets or path in ancestors:
            return True
        for n in range(len(path) - 1, 0, -1):  # deepest requested ancestor decides
            if path[:n] in targets:
                return not names_protected(path[n:], protected)
        return False

    return covered


def _revealed_paths(pc: PresentedCredential) -> list[tuple[Any, ...]]:
    """The revealed claim paths in a fixed order: document order, or for disclosures
    (a set) sorted by ``repr``."""
    if pc.disclosed is not None:
        return sorted((tuple(p) for p in pc.disclosed), key=repr)
    technical = _TECHNICAL.get(pc.format, frozenset())
    return leaf_paths(pc.claims, prune=lambda p: len(p) == 1 and p[0] in technical)


def check_response(
    query: DCQLQuery,
    presented: Mapping[str, Sequence[PresentedCredential]],
    *,
    strict_minimal: bool = False,
    discard_mismatched: bool = False,
    protected_names: AbstractSet[str] = DEFAULT_PROTECTED_NAMES,
) -> ResponseCheck:
    """Check that verified presentations answer the query (sections 6.4, 8.1, 8.6).

    ``presented`` maps each ``vp_token`` key to its verified presentations. Value
    constraints are checked too: the verifier must not rely on the wallet for them
    (sections 6.4.1 and 14.11). Claims revealed beyond the request are listed in
    ``extra_claims``; with ``strict_minimal=True`` they are a rejection. With
    ``discard_mismatched=True`` a presentation that does not match its query is dropped
    (section 8.6) instead of failing the whole response; the set rules still apply.

    >>> q = DCQLQuery.parse({"credentials": [{"id": "d", "format": "ldp_vc",
    ...     "meta": {"type_values": [["DebtStatement"]]},
    ...     "claims": [{"path": ["credentialSubject", "balance_at"]}]}]})
    >>> pc = PresentedCredential(format="ldp_vc", types=("VerifiableCredential",),
    ...     claims={"credentialSubject": {"balance_at": "2026-11-20T09:00:00+01:00"}})
    >>> try:
    ...     check_response(q, {"d": [pc]})
    ... except PolicyError as e:
    ...     e.code
    'type_mismatch'

    Raises:
        PolicyError: ``query_unknown``, ``credential_missing``, ``multiple_not_allowed``,
            ``format_mismatch``, ``type_mismatch``, ``claim_missing``, ``value_mismatch``,
            ``credential_set_unsatisfied``, ``excess_disclosure`` (strict_minimal).
        HolderBindingError: ``key_binding_missing`` when the query requires holder binding
            and the presentation has none.
    """
    ids = {c.id for c in query.credentials}
    for key in presented:
        if key not in ids:
            raise PolicyError("query_unknown", f"vp_token key {key!r} is not a credential query id")

    answered: list[str] = []
    chosen_sets: dict[str, tuple[int | None, ...]] = {}
    selections: dict[tuple[str, int], list[Selection]] = {}
    discarded: list[DiscardedPresentation] = []
    for q in query.credentials:
        if q.id not in presented:
            continue
        items = presented[q.id]
        if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence):
            raise PolicyError("credential_missing", f"{q.id}: presentations must be an array")
        if not items:
            raise PolicyError("credential_missing", f"{q.id}: empty array of presentations")
        if len(items) > 1 and not q.multiple:
            raise PolicyError(
                "multiple_not_allowed", f"{q.id}: {len(items)} presentations but multiple is false"
            )
        picks: list[int | None] = []
        for i, pc in enumerate(items):
            try:
                idx, sels = _check_presentation(q, pc, f"{q.id}[{i}]")
            except (PolicyError, HolderBindingError) as e:
                if not discard_mismatched:
                    raise
                discarded.append(
                    DiscardedPresentation(query_id=q.id, index=i, code=e.code, message=e.message)
                )
                continue
            picks.append(idx)
            selections[(q.id, i)] = sels
        if picks:
            answered.append(q.id)
            chosen_sets[q.id] = tuple(picks)

    done = set(answered)
    set_result: list[int | None] = []
    if query.credential_sets is None:
        for q in query.credentials:
            if q.id not in done:
                raise PolicyError("credential_missing", f"required credential {q.id!r} missing")
    else:
        for i, s in enumerate(query.credential_sets):
            pick = s.first_option(done.__contains__)
            if pick is None and s.required:
                raise PolicyError(
                    "credential_set_unsatisfied",
                    f"credential_sets[{i}]: no option is fully answered "
                    f"(options {[list(o) for o in s.options]})",
                )
            set_result.append(pick)

    extras: list[ExtraClaim] = []
    for (qid, i), sels in selections.items():
        pc = presented[qid][i]
        covered = _coverage(sels, protected_names)
        extra: list[tuple[Any, ...]]
        if pc.disclosed is not None:
            # the few uncovered disclosures sorted, as _revealed_paths would have them
            # (sorting every disclosed path by its repr cost more than the whole check)
            extra = sorted((p for p in map(tuple, pc.disclosed) if not covered(p)), key=repr)
        else:
            extra = [p for p in _revealed_paths(pc) if not covered(p)]
        extras.extend(ExtraClaim(query_id=qid, index=i, path=p) for p in extra)
    if query.credential_sets is not None:
        wanted = {
            x
            for s, p in zip(query.credential_sets, set_result, strict=True)
            if p is not None
            for x in s.options[p]
        }
        for qid in answered:
            if qid not in wanted:  # answered, but no chosen option asks for it
                for i in range(len(presented[qid])):
                    if (qid, i) in selections:
                        extras.append(ExtraClaim(query_id=qid, index=i, path=()))
    if strict_minimal and extras:
        first = extras[0]
        where = dotted(first.path) or "(the whole credential)"
        raise PolicyError(
            "excess_disclosure",
            f"{first.query_id}[{first.index}]: {where} was disclosed but not requested"
            + (f" (and {len(extras) - 1} more)" if len(extras) > 1 else ""),
        )
    return ResponseCheck(
        answered=tuple(answered),
        claim_sets=MappingProxyType(chosen_sets),
        credential_sets=tuple(set_result),
        extra_claims=tuple(extras),
        discarded=tuple(discarded),
    )
