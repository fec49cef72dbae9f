"""The wallet's disclosure plan: OpenID4VP 1.0 section 6.4 (Credential Queries section 6.1,
Credential Set Queries 6.2, Claims Queries 6.3, claims path pointers section 7).

:func:`plan` matches a DCQL query against the wallet's credentials and says exactly which
claims each presentation will reveal, or what is missing (the data types are in
``_disclosure``).

Decisions, where the specification leaves room:

* **Protected claims** (the privacy rule of the package docstring): a request for an ancestor
  is expanded to the ancestor's other children and the protected claim is withheld (warning
  ``protected_claim_withheld``); a request that names it by path reveals it (warning
  ``protected_claim_requested``).
* **Value matching** (``values``) filters the selected elements: only matching elements are
  disclosed; no matching element means the claim is treated as absent (section 6.4.1).
* **Candidate order** is deterministic: newest ``issued_at`` first, then ``id``; or the order
  of an explicit ``sort_key`` (ascending).
* **Duplicate claim paths** in one query are tolerated (the Wallet "SHOULD ignore" them) and
  disclosed once.
* ``trusted_authorities`` is parsed and kept but not evaluated: trust is the verifier's own
  check against the scheme's trust list. The plan warns ``trusted_authorities_not_evaluated``.

The top of the package: imports ``_query``, ``_paths`` and ``_disclosure``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from ._disclosure import (
    CandidateCredential,
    CredentialDisclosure,
    CredentialSetPlan,
    DisclosurePlan,
    PlanIssue,
    QueryPlan,
    collect_warnings,
)
from ._paths import (
    DEFAULT_PROTECTED_NAMES,
    ClaimFailure,
    ClaimResolver,
    ConcretePath,
    Selection,
    children,
    dotted,
    names_protected,
)
from ._query import MSO_MDOC, ClaimsPath, CredentialQuery, DCQLQuery, thaw


def _contains_protected(value: Any, protected: AbstractSet[str]) -> bool:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, Mapping):
            for k, x in v.items():
                if k in protected:
                    return True
                stack.append(x)
        elif isinstance(v, list | tuple):
            stack.extend(v)
    return False


def _expand_protected(
    sel: Selection, protected: AbstractSet[str]
) -> tuple[list[Selection], list[ConcretePath]]:
    """Split a selected subtree around protected claims: (what to disclose, what is withheld).

    The selection's own path names any protected key explicitly (keys in a concrete path
    come from string components of the query path), so only the subtree below is checked.
    """
    if not _contains_protected(sel.value, protected):
        return [sel], []
    keep: list[Selection] = []
    withheld: list[ConcretePath] = []

    def walk(path: ConcretePath, value: Any) -> None:
        if not _contains_protected(value, protected):
            keep.append(Selection(path, value))
            return
        for k, child in children(value):
            if isinstance(k, str) and k in protected:
                withheld.append((*path, k))
            else:
                walk((*path, k), child)

    walk(sel.path, sel.value)
    return keep, withheld


def _match_candidate(
    q: CredentialQuery, cand: CandidateCredential, protected: AbstractSet[str]
) -> CredentialDisclosure | list[PlanIssue]:
    failures: dict[ClaimsPath, ClaimFailure] = {}
    resolve = ClaimResolver(cand.claims)
    options = q.claim_options()
    for idx, option in enumerate(options):
        disclose: list[Selection] = []
        withheld: list[ConcretePath] = []
        warnings: list[PlanIssue] = []
        ok = True
        for cq in option:
            res = resolve(cq)
            if isinstance(res, ClaimFailure):
                failures.setdefault(res.path, res)
                ok = False
                continue
            before = len(disclose)
            for sel in res:
                if names_protected(sel.path, protected):
                    warnings.append(
                        _warn(
                            "protected_claim_requested",
                            f"the verifier asks for {dotted(sel.path)} by name",
                            q.id,
                            cand.id,
                            sel.path,
                        )
                    )
                keep, held = _expand_protected(sel, protected)
                for h in held:
                    withheld.append(h)
                    warnings.append(
                        _warn(
                            "protected_claim_withheld",
                            f"{dotted(h)} is not revealed: it was not asked for by name",
                            q.id,
                            cand.id,
                            h,
                        )
                    )
                for k in keep:
                    if _hides_disclosable(cand, k):
                        warnings.append(
                            _warn(
                                "subtree_requested",
                                f"everything under {dotted(k.path)} is revealed",
                                q.id,
                                cand.id,
                                k.path,
                            )
                        )
                disclose.extend(keep)
            if len(disclose) == before:
                # Only protected claims sit under the requested path: nothing can be shown.
                failures.setdefault(
                    cq.path,
                    ClaimFailure(
                        "claim_protected",
                        cq.path,
                        f"claim {list(cq.path)} holds only protected claims not asked by name",
                    ),
                )
                ok = False
        if not ok:
            continue
        always = cand.always_revealed()
        if q.claims is None:
            warnings.append(
                _warn(
                    "mandatory_claims_only",
                    "no claims requested: only the always-shown claims are revealed",
                    q.id,
                    cand.id,
                    None,
                )
            )
        if cand.disclosable is not None and not callable(cand.disclosable) and not cand.disclosable:
            warnings.append(
                _warn(
                    "not_selectively_disclosable",
                    "this credential cannot hide claims: all of it is revealed",
                    q.id,
                    cand.id,
                    None,
                )
            )
        for p in always:
            if names_protected(p, protected):
                warnings.append(
                    _warn(
                        "protected_claim_always_revealed",
                        f"{dotted(p)} is always shown by this credential",
                        q.id,
                        cand.id,
                        p,
                    )
                )
        uniq = list({s.path: s for s in disclose}.values())  # a path once, first position
        return CredentialDisclosure(
            query_id=q.id,
            credential_id=cand.id,
            format=cand.format,
            types=cand.types,
            claims_mode="mandatory_only" if q.claims is None else "listed",
            claim_set_index=idx if q.claim_sets is not None else None,
            claim_set=q.claim_sets[idx] if q.claim_sets is not None else None,
            disclose=tuple(uniq),
            always_revealed=always,
            withheld=tuple(dict.fromkeys(withheld)),
            warnings=tuple(dict.fromkeys(warnings)),
        )
    return [
        PlanIssue(code=f.code, message=f.message, query_id=q.id, credential_id=cand.id, path=f.path)
        for f in failures.values()
    ]


def _hides_disclosable(cand: CandidateCredential, sel: Selection) -> bool:
    """Whether revealing this subtree reveals claims the holder could otherwise withhold."""
    stack = [(sel.path, sel.value)]
    while stack:
        path, value = stack.pop()
        for k, child in children(value):
            p = (*path, k)
            if cand.is_disclosable(p):
                return True
            stack.append((p, child))
    return False


def _warn(
    code: str, message: str, qid: str, cid: str | None, path: Sequence[str | int | None] | None
) -> PlanIssue:
    return PlanIssue(
        code=code,
        message=message,
        query_id=qid,
        credential_id=cid,
        path=None if path is None else tuple(path),
    )


def _default_order(c: CandidateCredential) -> tuple[bool, int, str]:
    return (c.issued_at is None, -(c.issued_at or 0), c.id)


def _plan_query(
    q: CredentialQuery, cands: Sequence[CandidateCredential], protected: AbstractSet[str]
) -> tuple[list[CredentialDisclosure], list[PlanIssue]]:
    matches: list[CredentialDisclosure] = []
    # issues are only reported when nothing matches: kept as (kind, candidate) until then
    pending: list[tuple[str, CandidateCredential] | list[PlanIssue]] = []
    accepted: dict[str, dict[Any, bool]] = {}  # one type check per kind of credential

    def accepts(c: CandidateCredential) -> bool:
        by_types = accepted.get(c.format)
        if by_types is None:
            by_types = accepted[c.format] = {}
        try:
            ok = by_types.get(c.types)
        except TypeError:  # unhashable types: checked each time
            return q.accepts_type(c.format, c.types)
        if ok is None:
            ok = by_types[c.types] = q.accepts_type(c.format, c.types)
        return ok

    typed = [c for c in cands if accepts(c)]
    if not typed:
        wanted = (
            q.vct_values
            or q.type_values
            or (q.meta.get("doctype_value") if q.format == MSO_MDOC else None)
        )
        return [], [
            PlanIssue(
                code="credential_not_found",
                message=f"no {q.format} credential of type {thaw(wanted)!r} in the wallet",
                query_id=q.id,
            )
        ]
    for c in typed:
        if not c.usable:
            pending.append(("credential_unusable", c))
            continue
        if q.require_cryptographic_holder_binding and not c.holder_binding:
            pending.append(("holder_binding_unsupported", c))
            continue
        res = _match_candidate(q, c, protected)
        if isinstance(res, CredentialDisclosure):
            matches.append(res)
        elif not matches:
            pending.append(res)
    if matches:
        return matches, []
    issues: list[PlanIssue] = []
    for item in pending:
        if isinstance(item, list):
            issues.extend(item)
        else:
            code, c = item
            message = (
                "the credential is expired, revoked or suspended"
                if code == "credential_unusable"
                else "the verifier requires holder binding; this credential has none"
            )
            issues.append(PlanIssue(code=code, message=message, query_id=q.id, credential_id=c.id))
    return [], issues


def plan(
    query: DCQLQuery,
    candidates: Iterable[CandidateCredential],
    *,
    sort_key: Callable[[CandidateCredential], Any] | None = None,
    protected_names: AbstractSet[str] = DEFAULT_PROTECTED_NAMES,
) -> DisclosurePlan:
    """Match a query against the wallet's credentials (section 6.4) and plan the disclosure.

    For each Credential Query the candidates of the right format and type that are usable
    and have every requested claim (first satisfiable ``claim_sets`` option) match; the first
    is selected, or all of them when ``multiple`` is true, the rest are alternatives.
    Credential sets take their first option whose queries all match; without sets every
    query is required. ``protected_names`` applies the privacy rule of the module docstring;
    pass ``frozenset()`` to switch it off.

    Candidate order: ``sort_key`` ascending if given, else newest ``issued_at`` first, then
    ``id``; the plan does not depend on the order of ``candidates``.

    >>> q = DCQLQuery.parse({"credentials": [{"id": "ds", "format": "dc+sd-jwt",
    ...     "multiple": True, "meta": {"vct_values": ["urn:blauweknop:debt-statement:1"]},
    ...     "claims": [{"path": ["totals", "outstanding"]}]}]})
    >>> cands = [CandidateCredential(id=f"s{i}", format="dc+sd-jwt",
    ...     types=("urn:blauweknop:debt-statement:1",), issued_at=i,
    ...     claims={"totals": {"outstanding": 100 * i}}) for i in (1, 2)]
    >>> [d.credential_id for d in plan(q, cands).presentations()["ds"]]
    ['s2', 's1']
    """
    ordered = sorted(candidates, key=sort_key or _default_order)
    built: dict[str, tuple[list[CredentialDisclosure], list[PlanIssue]]] = {
        q.id: _plan_query(q, ordered, protected_names) for q in query.credentials
    }
    ok = {qid: bool(m) for qid, (m, _) in built.items()}

    set_plans: list[CredentialSetPlan] = []
    requested: set[str] = set()
    if query.credential_sets is None:
        satisfiable = all(ok.values())
        requested = set(ok)
    else:
        satisfiable = True
        for i, s in enumerate(query.credential_sets):
            pick = s.first_option(ok.__getitem__)
            set_plans.append(
                CredentialSetPlan(
                    index=i,
                    required=s.required,
                    satisfied=pick is not None,
                    option_index=pick,
                    option=None if pick is None else s.options[pick],
                    options=s.options,
                )
            )
            if pick is not None:
                requested.update(s.options[pick])
            elif s.required:
                satisfiable = False

    qplans = []
    for q in query.credentials:
        matches, issues = built[q.id]
        n = len(matches) if q.multiple else 1
        qplans.append(
            QueryPlan(
                query_id=q.id,
                format=q.format,
                multiple=q.multiple,
                requested=satisfiable and q.id in requested,
                selected=tuple(matches[:n]),
                alternatives=tuple(matches[n:]),
                missing=tuple(issues),
            )
        )
    qwarn = tuple(
        _warn(
            "trusted_authorities_not_evaluated",
            "trusted_authorities is not checked by the wallet",
            q.id,
            None,
            None,
        )
        for q in query.credentials
        if q.trusted_authorities is not None
    )
    qtuple = tuple(qplans)
    return DisclosurePlan(
        satisfiable=satisfiable,
        queries=qtuple,
        credential_sets=tuple(set_plans),
        warnings=collect_warnings(qtuple, qwarn),
    )
