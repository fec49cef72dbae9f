"""The wallet's disclosure plan as data: OpenID4VP 1.0 section 6.4 (paths: section 7).

What :func:`~blauweknop._dcql.plan` returns, for the citizen's consent before anything is
sent: per Credential Query (section 6.1) the credentials that answer it and exactly which
claims each presentation reveals (:class:`CredentialDisclosure`), what is missing and why
(:class:`PlanIssue`), the choice per Credential Set Query (section 6.2), and a preview of
what the verifier will see. :class:`CandidateCredential` describes a wallet credential for
matching, whatever its format.

Decisions, where the specification leaves room:

* **No ``claims``** means, in section 6.4.1, that *no selectively disclosable claim* is
  requested: only the claims that are always shown are revealed. The plan says so explicitly
  (``claims_mode == "mandatory_only"``, warning ``mandatory_claims_only``) and lists the
  ``always_revealed`` claims, which is everything for a credential that cannot disclose
  selectively.

Imports ``_query``, ``_paths`` and ``_response`` (for :class:`PresentedCredential`, what a
preview shows) from this package.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from typing import Any, Literal

from .._errors import PolicyError
from ._paths import ConcretePath, Selection, leaf_paths
from ._query import thaw
from ._response import PresentedCredential

ClaimsMode = Literal["listed", "mandatory_only"]
Disclosable = Callable[[ConcretePath], bool] | AbstractSet[ConcretePath] | None


@dataclass(frozen=True, kw_only=True, slots=True)
class CandidateCredential:
    """A credential in the wallet, described for matching; no format code needed.

    Attributes:
        id: the wallet's id for the credential.
        format: ``dc+sd-jwt`` or ``ldp_vc`` (any Credential Format Identifier works).
        types: the ``vct`` (plus any type it extends) or the W3C ``type`` values.
        claims: every claim as if fully disclosed; for W3C the whole credential document
            (paths start at its root: ``["credentialSubject", ...]``, Appendix B.1.2).
        disclosable: the claims the holder CAN withhold, as a set of concrete paths or a
            predicate; ``None`` means every claim is selectively disclosable. A claim is
            revealed regardless when neither it nor any ancestor is disclosable.
        usable: ``False`` for expired, revoked or suspended credentials.
        holder_binding: whether the credential supports a holder-binding proof.
        issued_at: seconds since the epoch; newer credentials are preferred.
    """

    id: str
    format: str
    types: tuple[str, ...]
    claims: Mapping[str, Any]
    disclosable: Disclosable = None
    usable: bool = True
    holder_binding: bool = True
    issued_at: int | None = None

    def is_disclosable(self, path: ConcretePath) -> bool:
        """Whether the claim at ``path`` itself can be withheld.

        >>> c = CandidateCredential(id="c", format="dc+sd-jwt", types=("t",),
        ...     claims={"a": 1, "b": 2}, disclosable={("b",)})
        >>> c.is_disclosable(("a",)), c.is_disclosable(("b",))
        (False, True)
        """
        d = self.disclosable
        if d is None:
            return True
        if callable(d):
            return bool(d(path))
        return path in d

    def always_revealed(self) -> tuple[ConcretePath, ...]:
        """Leaf claims revealed in every presentation (nothing on their path can be withheld).

        >>> c = CandidateCredential(id="c", format="dc+sd-jwt", types=("t",),
        ...     claims={"iss": "x", "subject": {"bsn": "1"}}, disclosable={("subject", "bsn")})
        >>> c.always_revealed()
        (('iss',),)
        """
        return tuple(leaf_paths(self.claims, prune=self.is_disclosable))


_HIDDEN = object()  # marks a claim left out of a preview


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanIssue:
    """Something missing or worth telling the citizen; ``code`` is stable.

    Missing codes: ``credential_not_found``, ``credential_unusable``,
    ``holder_binding_unsupported``, ``claim_missing``, ``value_mismatch``, ``claim_protected``,
    ``credential_set_unsatisfied``.
    Warning codes: ``mandatory_claims_only``, ``not_selectively_disclosable``,
    ``subtree_requested``, ``protected_claim_requested``, ``protected_claim_withheld``,
    ``protected_claim_always_revealed``, ``trusted_authorities_not_evaluated``.

    Reasons about values are for the citizen's eyes only: telling the verifier why nothing
    came back would leak claim values (section 15.4.1).
    """

    code: str
    message: str
    query_id: str | None = None
    credential_id: str | None = None
    path: tuple[str | int | None, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form for an app to render."""
        return {
            "code": self.code,
            "message": self.message,
            "query_id": self.query_id,
            "credential_id": self.credential_id,
            "path": None if self.path is None else list(self.path),
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class CredentialDisclosure:
    """One credential answering one query, and exactly what it will reveal.

    Attributes:
        query_id: the Credential Query answered.
        credential_id: the wallet's credential.
        format: its format.
        types: its types.
        claims_mode: ``"listed"`` (claims requested) or ``"mandatory_only"`` (no ``claims``).
        claim_set_index: index of the chosen ``claim_sets`` option, ``None`` without sets.
        claim_set: ids of the claims in that option.
        disclose: the claims to reveal selectively, with their values; the format layer
            also discloses the ancestors needed to reach them, never their siblings.
        always_revealed: leaf claims shown whatever is requested.
        withheld: protected claims kept back by the privacy rule.
        warnings: issues to show the citizen before consent.
    """

    query_id: str
    credential_id: str
    format: str
    types: tuple[str, ...]
    claims_mode: ClaimsMode
    claim_set_index: int | None
    claim_set: tuple[str, ...] | None
    disclose: tuple[Selection, ...]
    always_revealed: tuple[ConcretePath, ...]
    withheld: tuple[ConcretePath, ...] = ()
    warnings: tuple[PlanIssue, ...] = ()

    @property
    def disclose_paths(self) -> tuple[ConcretePath, ...]:
        """Just the paths of :attr:`disclose` (what to hand to the format's ``select``)."""
        return tuple(s.path for s in self.disclose)

    def preview(self, candidate: CandidateCredential) -> PresentedCredential:
        """What the verifier will see: the claims this plan reveals from ``candidate``.

        Models selective disclosure the way SD-JWT and ecdsa-sd-2023 do it: a claim is shown
        when it lies on the way to a disclosed claim, inside a disclosed subtree, or cannot
        be withheld and its parent is shown. Array elements that are withheld vanish, so
        later indices shift (the ``disclosed`` paths use the shifted indices, like the SD-JWT
        verifier reports them). For a consent screen, and for testing the verifier side.

        >>> c = CandidateCredential(id="c", format="dc+sd-jwt", types=("t",),
        ...     claims={"iss": "urn:x", "subject": {"family_name": "Jansen", "bsn": "1"}},
        ...     disclosable={("subject", "family_name"), ("subject", "bsn")})
        >>> from blauweknop._dcql import DCQLQuery, plan
        >>> q = DCQLQuery.parse({"credentials": [{"id": "q", "format": "dc+sd-jwt",
        ...     "meta": {"vct_values": ["t"]}, "claims": [{"path": ["subject"]}]}]})
        >>> plan(q, [c]).presentations()["q"][0].preview(c).claims
        {'iss': 'urn:x', 'subject': {'family_name': 'Jansen'}}

        Raises:
            PolicyError: ``credential_missing`` if ``candidate`` is not the planned one.
        """
        if candidate.id != self.credential_id:
            raise PolicyError(
                "credential_missing", f"plan is for {self.credential_id!r}, not {candidate.id!r}"
            )
        targets = self.disclose_paths
        disclosed: set[tuple[str | int | None, ...]] = set()

        def on_the_way(p: ConcretePath) -> bool:
            return any(t[: len(p)] == p for t in targets)

        def walk(value: Any, src: ConcretePath, out: ConcretePath, forced: bool) -> Any:
            if isinstance(value, Mapping):
                obj: dict[str, Any] = {}
                for k, v in value.items():
                    shown = walk_child(v, (*src, k), (*out, k), forced)
                    if shown is not _HIDDEN:
                        obj[k] = shown
                return obj
            if isinstance(value, list | tuple):
                items: list[Any] = []
                for i, v in enumerate(value):
                    shown = walk_child(v, (*src, i), (*out, len(items)), forced)
                    if shown is not _HIDDEN:
                        items.append(shown)
                return items
            return value

        def walk_child(value: Any, src: ConcretePath, out: ConcretePath, forced: bool) -> Any:
            sd = candidate.is_disclosable(src)
            inside = forced or src in targets
            if not (inside or on_the_way(src) or not sd):
                return _HIDDEN
            if sd:
                disclosed.add(out)
            return walk(value, src, out, inside)

        return PresentedCredential(
            format=candidate.format,
            types=candidate.types,
            claims=walk(candidate.claims, (), (), False),
            disclosed=frozenset(disclosed),
            holder_bound=candidate.holder_binding,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form for a consent screen."""
        return {
            "query_id": self.query_id,
            "credential_id": self.credential_id,
            "format": self.format,
            "types": list(self.types),
            "claims_mode": self.claims_mode,
            "claim_set_index": self.claim_set_index,
            "claim_set": None if self.claim_set is None else list(self.claim_set),
            "disclose": [{"path": list(s.path), "value": thaw(s.value)} for s in self.disclose],
            "always_revealed": [list(p) for p in self.always_revealed],
            "withheld": [list(p) for p in self.withheld],
            "warnings": [w.to_dict() for w in self.warnings],
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class QueryPlan:
    """The outcome for one Credential Query.

    Attributes:
        query_id: the query.
        format: its format.
        multiple: whether several credentials may answer it.
        requested: whether the response will carry it (without credential sets: always;
            with them: it is in a chosen option). ``False`` also when nothing can be sent.
        selected: the credential(s) to present, preferred first.
        alternatives: other matching credentials the citizen may pick instead.
        missing: why candidates did not match (empty when one did).
    """

    query_id: str
    format: str
    multiple: bool
    requested: bool
    selected: tuple[CredentialDisclosure, ...]
    alternatives: tuple[CredentialDisclosure, ...]
    missing: tuple[PlanIssue, ...]

    @property
    def satisfiable(self) -> bool:
        """At least one credential matches."""
        return bool(self.selected)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "query_id": self.query_id,
            "format": self.format,
            "multiple": self.multiple,
            "requested": self.requested,
            "satisfiable": self.satisfiable,
            "selected": [d.to_dict() for d in self.selected],
            "alternatives": [d.to_dict() for d in self.alternatives],
            "missing": [m.to_dict() for m in self.missing],
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class CredentialSetPlan:
    """The outcome for one Credential Set Query: the first option the wallet can satisfy.

    Attributes:
        index: position in ``credential_sets``.
        required: the set's ``required``.
        satisfied: whether an option can be answered.
        option_index: the chosen option, ``None`` if none can be answered.
        option: the query ids of the chosen option.
        options: every option of the set (for explaining what is missing).
    """

    index: int
    required: bool
    satisfied: bool
    option_index: int | None
    option: tuple[str, ...] | None
    options: tuple[tuple[str, ...], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "index": self.index,
            "required": self.required,
            "satisfied": self.satisfied,
            "option_index": self.option_index,
            "option": None if self.option is None else list(self.option),
            "options": [list(o) for o in self.options],
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class DisclosurePlan:
    """What the wallet would present for a query, for the citizen's consent.

    Attributes:
        satisfiable: every required credential (set) can be answered. When ``False`` the
            wallet must present nothing at all (section 6.4.2).
        queries: one plan per Credential Query, in query order.
        credential_sets: one plan per Credential Set Query (empty without sets).
        warnings: the warnings of everything that would be presented, plus query-level ones.
    """

    satisfiable: bool
    queries: tuple[QueryPlan, ...]
    credential_sets: tuple[CredentialSetPlan, ...]
    warnings: tuple[PlanIssue, ...]

    @property
    def missing(self) -> tuple[PlanIssue, ...]:
        """Why the plan is unsatisfiable: the issues of every required, unanswerable query."""
        if self.satisfiable:
            return ()
        out: list[PlanIssue] = []
        if not self.credential_sets:
            for q in self.queries:
                out.extend(q.missing if not q.satisfiable else ())
            return tuple(out)
        by_id = {q.query_id: q for q in self.queries}
        for s in self.credential_sets:
            if s.required and not s.satisfied:
                out.append(
                    PlanIssue(
                        code="credential_set_unsatisfied",
                        message=f"no option of credential set {s.index} can be answered",
                    )
                )
        seen: set[str] = set()
        for s in self.credential_sets:
            if s.required and not s.satisfied:
                for qid in dict.fromkeys(x for o in s.options for x in o):
                    if qid not in seen and not by_id[qid].satisfiable:
                        seen.add(qid)
                        out.extend(by_id[qid].missing)
        return tuple(out)

    def presentations(self) -> dict[str, list[CredentialDisclosure]]:
        """The ``vp_token`` to build: query id -> credentials with their disclosures.

        Empty when the plan is not satisfiable (nothing may be sent).
        """
        if not self.satisfiable:
            return {}
        return {q.query_id: list(q.selected) for q in self.queries if q.requested}

    def choose(self, query_id: str, credential_ids: Sequence[str]) -> DisclosurePlan:
        """The same plan with the citizen's pick of credentials for one query.

        Raises:
            PolicyError: ``query_unknown``; ``multiple_not_allowed`` for several ids on a
                query without ``multiple``; ``credential_missing`` for an id that does not
                match the query.
        """
        qs = list(self.queries)
        for i, q in enumerate(qs):
            if q.query_id != query_id:
                continue
            if not q.multiple and len(credential_ids) != 1:
                raise PolicyError(
                    "multiple_not_allowed", f"query {query_id!r} takes exactly one credential"
                )
            pool = {d.credential_id: d for d in (*q.selected, *q.alternatives)}
            unknown = [c for c in credential_ids if c not in pool]
            if unknown or not credential_ids:
                raise PolicyError(
                    "credential_missing", f"no matching credential {unknown!r} for {query_id!r}"
                )
            chosen = tuple(pool[c] for c in dict.fromkeys(credential_ids))
            rest = tuple(d for d in (*q.selected, *q.alternatives) if d not in chosen)
            qs[i] = replace(q, selected=chosen, alternatives=rest)
            return replace(
                self, queries=tuple(qs), warnings=collect_warnings(tuple(qs), self._qwarn())
            )
        raise PolicyError("query_unknown", f"no credential query with id {query_id!r}")

    def _qwarn(self) -> tuple[PlanIssue, ...]:
        return tuple(w for w in self.warnings if w.credential_id is None)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form for an app to render (it holds claim values: do not log it)."""
        return {
            "satisfiable": self.satisfiable,
            "queries": [q.to_dict() for q in self.queries],
            "credential_sets": [s.to_dict() for s in self.credential_sets],
            "warnings": [w.to_dict() for w in self.warnings],
            "missing": [m.to_dict() for m in self.missing],
        }


def collect_warnings(
    queries: tuple[QueryPlan, ...], query_level: tuple[PlanIssue, ...]
) -> tuple[PlanIssue, ...]:
    """The plan's warnings: the query-level ones, then those of every requested disclosure."""
    out = list(query_level)
    for q in queries:
        if q.requested:
            for d in q.selected:
                out.extend(d.warnings)
    return tuple(dict.fromkeys(out))
