"""DCQL, the Digital Credentials Query Language (OpenID4VP 1.0 sections 6, 7 and 8).

One engine for both sides, independent of the credential format:

* :meth:`DCQLQuery.parse` validates a query (section 6) into frozen dataclasses;
* :func:`select_paths` applies a claims path pointer to a JSON credential (section 7.1);
* :func:`plan` (wallet) matches the query against the wallet's credentials and says exactly
  which claims each presentation will reveal, or what is missing (section 6.4);
* :func:`check_response` (verifier) checks that what came back answers the query
  (sections 6.4, 8.1 and 8.6).

Decisions, where the specification leaves room:

* **Unknown formats** parse (section 6: new formats are defined elsewhere), their ``meta`` is
  kept as is, and they never match: the engine cannot evaluate their ``meta``, so it fails
  closed. Known formats have their ``meta`` checked: ``dc+sd-jwt`` needs ``vct_values``,
  ``ldp_vc`` and ``jwt_vc_json`` need ``type_values``, ``mso_mdoc`` needs ``doctype_value``
  (Appendix B).
* **No ``claims``** means, in OpenID4VP 1.0 section 6.4.1, that *no selectively disclosable
  claim* is requested: only the claims that are always shown are revealed. The plan says so
  explicitly (``claims_mode == "mandatory_only"``, warning ``mandatory_claims_only``) and
  lists the ``always_revealed`` claims, which is everything for a credential that cannot
  disclose selectively.
* **Privacy rule for protected claims** (default: ``bsn``). A BSN may only be processed on a
  legal basis, so the wallet reveals it only when the request names it by an explicit path,
  e.g. ``["subject", "bsn"]``. A request for an ancestor (``["subject"]``) is expanded to the
  ancestor's other children; the BSN is withheld and the plan warns
  ``protected_claim_withheld``. :func:`check_response` applies the same rule, so a BSN that
  arrives under such a request is an *extra* claim.
* **Value matching** (``values``) filters the selected elements: only matching elements are
  disclosed; no matching element means the claim is treated as absent (section 6.4.1).
* **Candidate order** is deterministic: newest ``issued_at`` first, then ``id``; or the order
  of an explicit ``sort_key`` (ascending).
* **Duplicate claim paths** in one query are tolerated (the Wallet "SHOULD ignore" them) and
  disclosed once; ``parse(..., strict=True)`` enforces the Verifier's MUST NOT instead.
* ``trusted_authorities`` is parsed and kept but not evaluated: trust is the verifier's own
  check against the scheme's trust list. The plan warns ``trusted_authorities_not_evaluated``.
* Claims path pointers that run into a value of the wrong type select nothing (the
  specification's "return an error" means, for matching, that the claim is not there).
* **Types** are what the caller says: for SD-JWT VC the ``vct`` plus any type it extends, for
  W3C the ``type`` values fully expanded, as ``type_values`` names them (Appendix B.1.1; no
  JSON-LD processing here: the wallet and the verifier expand under the pinned contexts with
  ``w3c_type_iris``, so compact names in ``type_values`` do not match our credentials).
* **Numbers**: JSON has one number type, so ``values: [2]`` matches a claim ``2.0``; booleans
  and strings never match numbers.
* **Verifier and ``claim_sets``**: the first satisfied option is reported; claims of every
  satisfied option count as requested when looking for extra claims (a wallet may deviate
  from the first option, section 6.4.1).
* **Mismatching presentations** fail the whole response by default (a typed reason for the
  creditor); ``discard_mismatched=True`` drops them instead, as section 8.6 describes.
* Index pointers (``["cases", 1]``) into arrays whose elements are withheld one by one are
  fragile in any format: withheld elements vanish and later indices shift. Prefer ``null``.

Example:
    >>> q = DCQLQuery.parse({"credentials": [{"id": "pid", "format": "dc+sd-jwt",
    ...     "meta": {"vct_values": ["urn:example:pid"]},
    ...     "claims": [{"path": ["subject", "family_name"]}]}]})
    >>> cand = CandidateCredential(id="c1", format="dc+sd-jwt", types=("urn:example:pid",),
    ...     claims={"subject": {"family_name": "Jansen", "bsn": "999999990"}})
    >>> p = plan(q, [cand])
    >>> p.satisfiable, p.presentations()["pid"][0].disclose_paths
    (True, (('subject', 'family_name'),))
    >>> presented = PresentedCredential(format="dc+sd-jwt", types=("urn:example:pid",),
    ...     claims={"subject": {"family_name": "Jansen"}})
    >>> check_response(q, {"pid": [presented]}).answered
    ('pid',)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from ._codec import canonical_json, check_depth, parse_json
from ._errors import HolderBindingError, MalformedError, PolicyError
from ._limits import DEFAULT_LIMITS, Limits

__all__ = [
    "DEFAULT_PROTECTED_NAMES",
    "LDP_VC",
    "MSO_MDOC",
    "SD_JWT_VC",
    "W3C_FORMATS",
    "CandidateCredential",
    "ClaimValue",
    "ClaimsPath",
    "ClaimsQuery",
    "ConcretePath",
    "CredentialDisclosure",
    "CredentialQuery",
    "CredentialSetPlan",
    "CredentialSetQuery",
    "DCQLQuery",
    "DiscardedPresentation",
    "DisclosurePlan",
    "ExtraClaim",
    "PlanIssue",
    "PresentedCredential",
    "QueryPlan",
    "ResponseCheck",
    "Selection",
    "TrustedAuthoritiesQuery",
    "check_response",
    "plan",
    "select_paths",
]

ClaimsPath = tuple[str | int | None, ...]
"""A claims path pointer as written in a query: keys, array indices, ``None`` = every element."""
ConcretePath = tuple[str | int, ...]
"""A path to one claim that exists: keys and array indices only."""
ClaimValue = str | int | bool
"""A value a Claims Query may ask for (section 6.3: strings, integers, booleans)."""

SD_JWT_VC = "dc+sd-jwt"
LDP_VC = "ldp_vc"
MSO_MDOC = "mso_mdoc"
W3C_FORMATS = frozenset({LDP_VC, "jwt_vc_json"})
DEFAULT_PROTECTED_NAMES = frozenset({"bsn"})
"""Claim names revealed only when a request names them by an explicit path (privacy rule)."""

ClaimsMode = Literal["listed", "mandatory_only"]
Disclosable = Callable[[ConcretePath], bool] | AbstractSet[ConcretePath] | None

_ID_RE = re.compile(r"[A-Za-z0-9_-]+")
# Claims a verifier always sees and that never count as "extra" when disclosure paths are
# not reported: SD-JWT VC section 3.2.2 and the VC Data Model 2.0 section 4 members.
_TECHNICAL = {
    SD_JWT_VC: frozenset(
        {"iss", "iat", "nbf", "exp", "vct", "vct#integrity", "cnf", "status", "_sd_alg"}
    ),
    LDP_VC: frozenset(
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
    ),
}
_TECHNICAL["jwt_vc_json"] = _TECHNICAL[LDP_VC]


# --------------------------------------------------------------------------------------------
# Query model (section 6)


@dataclass(frozen=True, kw_only=True, slots=True)
class ClaimsQuery:
    """One Claims Query (section 6.3).

    Attributes:
        id: identifier, required when the Credential Query has ``claim_sets``.
        path: claims path pointer (section 7).
        values: accepted values; ``None`` when any value will do.
        intent_to_retain: the ``mso_mdoc`` member of Appendix B.2.4, if given.
    """

    id: str | None = None
    path: ClaimsPath
    values: tuple[ClaimValue, ...] | None = None
    intent_to_retain: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """Wire form (JSON types).

        >>> ClaimsQuery(path=("totals", "outstanding")).to_dict()
        {'path': ['totals', 'outstanding']}
        """
        out: dict[str, Any] = {}
        if self.id is not None:
            out["id"] = self.id
        out["path"] = list(self.path)
        if self.values is not None:
            out["values"] = list(self.values)
        if self.intent_to_retain is not None:
            out["intent_to_retain"] = self.intent_to_retain
        return out


@dataclass(frozen=True, kw_only=True, slots=True)
class TrustedAuthoritiesQuery:
    """One Trusted Authorities Query (section 6.1.1): kept, not evaluated by this engine."""

    type: str
    values: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Wire form."""
        return {"type": self.type, "values": list(self.values)}


@dataclass(frozen=True, kw_only=True, slots=True)
class CredentialQuery:
    """One Credential Query (section 6.1).

    Attributes:
        id: identifier used as the key in the ``vp_token``.
        format: Credential Format Identifier (``dc+sd-jwt``, ``ldp_vc``, ...).
        meta: the ``meta`` object as received (read-only).
        multiple: whether several credentials may answer this query.
        trusted_authorities: parsed, not evaluated.
        require_cryptographic_holder_binding: default ``True``.
        claims: requested claims, or ``None`` (only always-shown claims are requested).
        claim_sets: alternative combinations of claim ids, most preferred first.
    """

    id: str
    format: str
    meta: Mapping[str, Any]
    multiple: bool = False
    trusted_authorities: tuple[TrustedAuthoritiesQuery, ...] | None = None
    require_cryptographic_holder_binding: bool = True
    claims: tuple[ClaimsQuery, ...] | None = None
    claim_sets: tuple[tuple[str, ...], ...] | None = None

    @property
    def vct_values(self) -> tuple[str, ...] | None:
        """``meta.vct_values`` for ``dc+sd-jwt`` (Appendix B.3.5), else ``None``."""
        v = self.meta.get("vct_values") if self.format == SD_JWT_VC else None
        return tuple(v) if v is not None else None

    @property
    def type_values(self) -> tuple[tuple[str, ...], ...] | None:
        """``meta.type_values`` for W3C formats (Appendix B.1.1), else ``None``."""
        v = self.meta.get("type_values") if self.format in W3C_FORMATS else None
        return tuple(tuple(x) for x in v) if v is not None else None

    def claim_options(self) -> tuple[tuple[ClaimsQuery, ...], ...]:
        """The alternative claim combinations, most preferred first (section 6.4.1).

        No ``claims``: one empty option. ``claims`` without ``claim_sets``: one option with
        every claim. With ``claim_sets``: one option per set.

        >>> cq = CredentialQuery(id="x", format="dc+sd-jwt", meta={"vct_values": ["t"]},
        ...     claims=(ClaimsQuery(id="a", path=("a",)), ClaimsQuery(id="b", path=("b",))),
        ...     claim_sets=(("b",), ("a", "b")))
        >>> [[c.id for c in opt] for opt in cq.claim_options()]
        [['b'], ['a', 'b']]
        """
        if self.claims is None:
            return ((),)
        if self.claim_sets is None:
            return (self.claims,)
        by_id = {c.id: c for c in self.claims}
        return tuple(tuple(by_id[i] for i in option) for option in self.claim_sets)

    def accepts_type(self, fmt: str, types: Iterable[str]) -> bool:
        """Whether a credential of format ``fmt`` with these types fits ``format`` and ``meta``.

        ``types`` is the SD-JWT VC ``vct`` plus any type it extends, or the W3C ``type``
        values (include fully expanded IRIs when the verifier may ask for them).

        >>> cq = CredentialQuery(id="x", format="ldp_vc", meta={"type_values": [["A", "B"]]})
        >>> cq.accepts_type("ldp_vc", ["VerifiableCredential", "B", "A"])
        True
        >>> cq.accepts_type("ldp_vc", ["VerifiableCredential", "A"])
        False
        """
        if fmt != self.format:
            return False
        have = set(types)
        if self.format == SD_JWT_VC:
            return any(v in have for v in self.meta["vct_values"])
        if self.format in W3C_FORMATS:
            return any(all(t in have for t in alt) for alt in self.meta["type_values"])
        if self.format == MSO_MDOC:
            return self.meta["doctype_value"] in have
        return False  # meta of an unknown format cannot be evaluated: fail closed

    def to_dict(self) -> dict[str, Any]:
        """Wire form."""
        out: dict[str, Any] = {"id": self.id, "format": self.format}
        if self.multiple:
            out["multiple"] = True
        out["meta"] = _thaw(self.meta)
        if self.trusted_authorities is not None:
            out["trusted_authorities"] = [t.to_dict() for t in self.trusted_authorities]
        if not self.require_cryptographic_holder_binding:
            out["require_cryptographic_holder_binding"] = False
        if self.claims is not None:
            out["claims"] = [c.to_dict() for c in self.claims]
        if self.claim_sets is not None:
            out["claim_sets"] = [list(s) for s in self.claim_sets]
        return out


@dataclass(frozen=True, kw_only=True, slots=True)
class CredentialSetQuery:
    """One Credential Set Query (section 6.2): any one option satisfies it."""

    options: tuple[tuple[str, ...], ...]
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Wire form."""
        out: dict[str, Any] = {"options": [list(o) for o in self.options]}
        if not self.required:
            out["required"] = False
        return out


@dataclass(frozen=True, kw_only=True, slots=True)
class DCQLQuery:
    """A validated DCQL query (section 6). Build it with :meth:`parse`.

    Example:
        >>> q = DCQLQuery.parse('{"credentials": [{"id": "a", "format": "ldp_vc",'
        ...     ' "meta": {"type_values": [["DebtStatement"]]}}]}')
        >>> q.credentials[0].require_cryptographic_holder_binding, q.credential_sets
        (True, None)
        >>> DCQLQuery.parse({"credentials": []})
        Traceback (most recent call last):
        ...
        blauweknop._errors.MalformedError: dcql_invalid: credentials: must be a non-empty array
    """

    credentials: tuple[CredentialQuery, ...]
    credential_sets: tuple[CredentialSetQuery, ...] | None = None

    @classmethod
    def parse(
        cls,
        data: str | bytes | Mapping[str, Any],
        limits: Limits = DEFAULT_LIMITS,
        *,
        strict: bool = False,
    ) -> DCQLQuery:
        """Parse and validate a DCQL query given as JSON text or as decoded JSON.

        Every MUST of section 6 (and 7 for paths) is enforced; unknown members are ignored
        as section 6 requires. ``strict=True`` also enforces the Verifier-side rule that no
        claim path appears twice in one Credential Query (for checking one's own requests).

        Raises:
            MalformedError: ``dcql_invalid`` naming the offending member; ``too_large`` over
                ``limits.max_dcql_bytes``; ``too_deep``, ``malformed_json`` or
                ``duplicate_json_key`` for bad JSON text.
        """
        if isinstance(data, str | bytes):
            obj = parse_json(
                data, limits=limits, what="DCQL query", max_bytes=limits.max_dcql_bytes
            )
        else:
            obj = data
            check_depth(obj, limits.max_json_depth, "DCQL query")
            try:
                size = len(canonical_json(obj))
            except (TypeError, ValueError) as e:
                raise MalformedError("dcql_invalid", f"DCQL query is not JSON data: {e}") from e
            if size > limits.max_dcql_bytes:
                raise MalformedError(
                    "too_large", f"DCQL query is larger than {limits.max_dcql_bytes} bytes"
                )
        return _parse_query(obj, strict=strict)

    def credential(self, query_id: str) -> CredentialQuery:
        """The Credential Query with this id.

        Raises:
            PolicyError: ``query_unknown``.
        """
        for c in self.credentials:
            if c.id == query_id:
                return c
        raise PolicyError("query_unknown", f"no credential query with id {query_id!r}")

    def requested_ids(self) -> tuple[str, ...]:
        """Ids of queries that any credential set (or, without sets, the query) can ask for."""
        if self.credential_sets is None:
            return tuple(c.id for c in self.credentials)
        used = {i for s in self.credential_sets for o in s.options for i in o}
        return tuple(c.id for c in self.credentials if c.id in used)

    def to_dict(self) -> dict[str, Any]:
        """Wire form; ``DCQLQuery.parse(q.to_dict()) == q``.

        >>> DCQLQuery.parse({"credentials": [{"id": "a", "format": "x", "meta": {}}]}).to_dict()
        {'credentials': [{'id': 'a', 'format': 'x', 'meta': {}}]}
        """
        out: dict[str, Any] = {"credentials": [c.to_dict() for c in self.credentials]}
        if self.credential_sets is not None:
            out["credential_sets"] = [s.to_dict() for s in self.credential_sets]
        return out


def _bad(where: str, what: str) -> MalformedError:
    return MalformedError("dcql_invalid", f"{where}: {what}")


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_thaw(v) for v in value]
    return value


def _is_index(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _opt_bool(obj: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    if key not in obj:
        return default
    v = obj[key]
    if not isinstance(v, bool):
        raise _bad(f"{where}.{key}", "must be a boolean")
    return v


def _identifier(v: Any, where: str) -> str:
    if not isinstance(v, str) or not _ID_RE.fullmatch(v):
        raise _bad(where, "must be a non-empty string of A-Z, a-z, 0-9, '_' or '-'")
    return v


def _nonempty_list(v: Any, where: str) -> list[Any]:
    if not isinstance(v, list) or not v:
        raise _bad(where, "must be a non-empty array")
    return v


def _string_list(v: Any, where: str) -> tuple[str, ...]:
    items = _nonempty_list(v, where)
    for i, s in enumerate(items):
        if not isinstance(s, str):
            raise _bad(f"{where}[{i}]", "must be a string")
    return tuple(items)


def _parse_path(v: Any, where: str) -> ClaimsPath:
    items = _nonempty_list(v, where)
    for i, c in enumerate(items):
        if not (c is None or isinstance(c, str) or _is_index(c)):
            raise _bad(f"{where}[{i}]", "must be a string, a non-negative integer or null")
    return tuple(items)


def _parse_claim(obj: Any, where: str, fmt: str) -> ClaimsQuery:
    if not isinstance(obj, dict):
        raise _bad(where, "must be an object")
    cid = _identifier(obj["id"], f"{where}.id") if "id" in obj else None
    if "path" not in obj:
        raise _bad(f"{where}.path", "is required")
    path = _parse_path(obj["path"], f"{where}.path")
    values: tuple[ClaimValue, ...] | None = None
    if "values" in obj:
        raw = _nonempty_list(obj["values"], f"{where}.values")
        for i, x in enumerate(raw):
            # bool is an int; JSON has one number type, so 2.0 is the integer 2; other
            # floats (2.5, NaN) and null are refused
            integral = isinstance(x, float) and x.is_integer()
            if not (isinstance(x, str | int) or integral):
                raise _bad(f"{where}.values[{i}]", "must be a string, an integer or a boolean")
        values = tuple(raw)
    retain: bool | None = None
    if fmt == MSO_MDOC and "intent_to_retain" in obj:
        retain = _opt_bool(obj, "intent_to_retain", where, False)
    return ClaimsQuery(id=cid, path=path, values=values, intent_to_retain=retain)


def _check_meta(fmt: str, meta: dict[str, Any], where: str) -> None:
    if fmt == SD_JWT_VC:
        if "vct_values" not in meta:
            raise _bad(f"{where}.vct_values", "is required for dc+sd-jwt")
        _string_list(meta["vct_values"], f"{where}.vct_values")
    elif fmt in W3C_FORMATS:
        if "type_values" not in meta:
            raise _bad(f"{where}.type_values", f"is required for {fmt}")
        alts = _nonempty_list(meta["type_values"], f"{where}.type_values")
        for i, alt in enumerate(alts):
            _string_list(alt, f"{where}.type_values[{i}]")
    elif fmt == MSO_MDOC and not isinstance(meta.get("doctype_value"), str):
        raise _bad(f"{where}.doctype_value", "is required for mso_mdoc and must be a string")


def _parse_credential(obj: Any, where: str, strict: bool) -> CredentialQuery:
    if not isinstance(obj, dict):
        raise _bad(where, "must be an object")
    if "id" not in obj:
        raise _bad(f"{where}.id", "is required")
    qid = _identifier(obj["id"], f"{where}.id")
    fmt = obj.get("format")
    if not isinstance(fmt, str) or not fmt:
        raise _bad(f"{where}.format", "is required and must be a non-empty string")
    multiple = _opt_bool(obj, "multiple", where, False)
    meta = obj.get("meta")
    if not isinstance(meta, dict):
        raise _bad(f"{where}.meta", "is required and must be an object")
    _check_meta(fmt, meta, f"{where}.meta")
    authorities: tuple[TrustedAuthoritiesQuery, ...] | None = None
    if "trusted_authorities" in obj:
        raw_ta = _nonempty_list(obj["trusted_authorities"], f"{where}.trusted_authorities")
        parsed_ta = []
        for i, ta in enumerate(raw_ta):
            w = f"{where}.trusted_authorities[{i}]"
            if not isinstance(ta, dict):
                raise _bad(w, "must be an object")
            if not isinstance(ta.get("type"), str):
                raise _bad(f"{w}.type", "is required and must be a string")
            parsed_ta.append(
                TrustedAuthoritiesQuery(
                    type=ta["type"], values=_string_list(ta.get("values"), f"{w}.values")
                )
            )
        authorities = tuple(parsed_ta)
    binding = _opt_bool(obj, "require_cryptographic_holder_binding", where, True)
    claims: tuple[ClaimsQuery, ...] | None = None
    if "claims" in obj:
        raw = _nonempty_list(obj["claims"], f"{where}.claims")
        claims = tuple(_parse_claim(c, f"{where}.claims[{i}]", fmt) for i, c in enumerate(raw))
        seen_ids: set[str] = set()
        seen_paths: set[ClaimsPath] = set()
        for i, c in enumerate(claims):
            if c.id is not None:
                if c.id in seen_ids:
                    raise _bad(f"{where}.claims[{i}].id", f"duplicate claim id {c.id!r}")
                seen_ids.add(c.id)
            if strict and c.path in seen_paths:
                raise _bad(f"{where}.claims[{i}].path", "the same claim is requested twice")
            seen_paths.add(c.path)
    claim_sets: tuple[tuple[str, ...], ...] | None = None
    if "claim_sets" in obj:
        if claims is None:
            raise _bad(f"{where}.claim_sets", "must not be present without claims")
        raw_sets = _nonempty_list(obj["claim_sets"], f"{where}.claim_sets")
        for i, c in enumerate(claims):
            if c.id is None:
                raise _bad(f"{where}.claims[{i}].id", "is required when claim_sets is present")
        known = {c.id for c in claims}
        sets = []
        for i, s in enumerate(raw_sets):
            ids = _string_list(s, f"{where}.claim_sets[{i}]")
            for j, cid in enumerate(ids):
                if cid not in known:
                    raise _bad(f"{where}.claim_sets[{i}][{j}]", f"unknown claim id {cid!r}")
            sets.append(ids)
        claim_sets = tuple(sets)
    return CredentialQuery(
        id=qid,
        format=fmt,
        meta=_freeze(meta),
        multiple=multiple,
        trusted_authorities=authorities,
        require_cryptographic_holder_binding=binding,
        claims=claims,
        claim_sets=claim_sets,
    )


def _parse_query(obj: Any, *, strict: bool) -> DCQLQuery:
    if not isinstance(obj, dict):
        raise _bad("DCQL query", "must be a JSON object")
    if "credentials" not in obj:
        raise _bad("credentials", "is required")
    raw = _nonempty_list(obj["credentials"], "credentials")
    creds = tuple(_parse_credential(c, f"credentials[{i}]", strict) for i, c in enumerate(raw))
    ids: set[str] = set()
    for i, c in enumerate(creds):
        if c.id in ids:
            raise _bad(f"credentials[{i}].id", f"duplicate credential query id {c.id!r}")
        ids.add(c.id)
    sets: tuple[CredentialSetQuery, ...] | None = None
    if "credential_sets" in obj:
        raw_sets = _nonempty_list(obj["credential_sets"], "credential_sets")
        parsed = []
        for i, s in enumerate(raw_sets):
            w = f"credential_sets[{i}]"
            if not isinstance(s, dict):
                raise _bad(w, "must be an object")
            if "options" not in s:
                raise _bad(f"{w}.options", "is required")
            options = _nonempty_list(s["options"], f"{w}.options")
            opts = []
            for j, o in enumerate(options):
                ow = f"{w}.options[{j}]"
                option = _string_list(o, ow)
                for k, qid in enumerate(option):
                    if qid not in ids:
                        raise _bad(f"{ow}[{k}]", f"unknown credential query id {qid!r}")
                opts.append(option)
            parsed.append(
                CredentialSetQuery(options=tuple(opts), required=_opt_bool(s, "required", w, True))
            )
        sets = tuple(parsed)
    return DCQLQuery(credentials=creds, credential_sets=sets)


# --------------------------------------------------------------------------------------------
# Claims path pointer (section 7)


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
    if not isinstance(path, Sequence) or isinstance(path, str) or not path:
        raise _bad("path", "must be a non-empty array")
    current: list[Selection] = [Selection((), claims)]
    for i, comp in enumerate(path):
        nxt: list[Selection] = []
        if isinstance(comp, str):
            for p, v in current:
                if not isinstance(v, Mapping):
                    return []
                if comp in v:
                    nxt.append(Selection((*p, comp), v[comp]))
        elif comp is None:
            for p, v in current:
                if not isinstance(v, list | tuple):
                    return []
                nxt.extend(Selection((*p, j), x) for j, x in enumerate(v))
        elif _is_index(comp):
            for p, v in current:
                if not isinstance(v, list | tuple):
                    return []
                if comp < len(v):
                    nxt.append(Selection((*p, comp), v[comp]))
        else:
            raise _bad(f"path[{i}]", "must be a string, a non-negative integer or null")
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


# --------------------------------------------------------------------------------------------
# Wallet side: the disclosure plan


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
        out: list[ConcretePath] = []

        def walk(value: Any, path: ConcretePath) -> None:
            if path and self.is_disclosable(path):
                return
            children = _children(value)
            if not children:
                if path:
                    out.append(path)
                return
            for key, child in children:
                walk(child, (*path, key))

        walk(self.claims, ())
        return tuple(out)


_HIDDEN = object()  # marks a claim left out of a preview


def _children(value: Any) -> list[tuple[str | int, Any]]:
    if isinstance(value, Mapping):
        return list(value.items())
    if isinstance(value, list | tuple):
        return list(enumerate(value))
    return []


def _path_json(path: Sequence[str | int | None] | None) -> list[Any] | None:
    return None if path is None else list(path)


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
            "path": _path_json(self.path),
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
            "disclose": [{"path": list(s.path), "value": _thaw(s.value)} for s in self.disclose],
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
                self, queries=tuple(qs), warnings=_collect_warnings(tuple(qs), self._qwarn())
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
        for k, child in _children(value):
            if isinstance(k, str) and k in protected:
                withheld.append((*path, k))
            else:
                walk((*path, k), child)

    walk(sel.path, sel.value)
    return keep, withheld


class _ClaimFailure(NamedTuple):
    code: str
    path: ClaimsPath
    message: str


def _resolve_claim(claims: Mapping[str, Any], cq: ClaimsQuery) -> list[Selection] | _ClaimFailure:
    found = select_paths(claims, cq.path)
    if not found:
        return _ClaimFailure("claim_missing", cq.path, f"claim {list(cq.path)} is not present")
    if cq.values is not None:
        found = [s for s in found if _value_matches(s.value, cq.values)]
        if not found:
            return _ClaimFailure(
                "value_mismatch", cq.path, f"claim {list(cq.path)} has none of the asked values"
            )
    return found


def _match_candidate(
    q: CredentialQuery, cand: CandidateCredential, protected: AbstractSet[str]
) -> CredentialDisclosure | list[PlanIssue]:
    failures: dict[ClaimsPath, _ClaimFailure] = {}
    resolved: dict[int, list[Selection] | _ClaimFailure] = {}  # claim sets reuse claims
    options = q.claim_options()
    for idx, option in enumerate(options):
        disclose: list[Selection] = []
        withheld: list[ConcretePath] = []
        warnings: list[PlanIssue] = []
        ok = True
        for cq in option:
            if id(cq) not in resolved:
                resolved[id(cq)] = _resolve_claim(cand.claims, cq)
            res = resolved[id(cq)]
            if isinstance(res, _ClaimFailure):
                failures.setdefault(res.path, res)
                ok = False
                continue
            before = len(disclose)
            for sel in res:
                if any(isinstance(k, str) and k in protected for k in sel.path):
                    warnings.append(
                        _warn(
                            "protected_claim_requested",
                            f"the verifier asks for {_dotted(sel.path)} by name",
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
                            f"{_dotted(h)} is not revealed: it was not asked for by name",
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
                                f"everything under {_dotted(k.path)} is revealed",
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
                    _ClaimFailure(
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
            if any(isinstance(k, str) and k in protected for k in p):
                warnings.append(
                    _warn(
                        "protected_claim_always_revealed",
                        f"{_dotted(p)} is always shown by this credential",
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
        for k, child in _children(value):
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


def _dotted(path: Sequence[str | int | None]) -> str:
    out = ""
    for p in path:
        if p is None:
            out += "[*]"
        elif isinstance(p, int):
            out += f"[{p}]"
        else:
            out += f".{p}" if out else p
    return out


def _default_order(c: CandidateCredential) -> tuple[bool, int, str]:
    return (c.issued_at is None, -(c.issued_at or 0), c.id)


def _plan_query(
    q: CredentialQuery, cands: Sequence[CandidateCredential], protected: AbstractSet[str]
) -> tuple[list[CredentialDisclosure], list[PlanIssue]]:
    matches: list[CredentialDisclosure] = []
    issues: list[PlanIssue] = []
    typed = [c for c in cands if q.accepts_type(c.format, c.types)]
    if not typed:
        wanted = (
            q.vct_values
            or q.type_values
            or (q.meta.get("doctype_value") if q.format == MSO_MDOC else None)
        )
        return [], [
            PlanIssue(
                code="credential_not_found",
                message=f"no {q.format} credential of type {_thaw(wanted)!r} in the wallet",
                query_id=q.id,
            )
        ]
    for c in typed:
        if not c.usable:
            issues.append(
                PlanIssue(
                    code="credential_unusable",
                    message="the credential is expired, revoked or suspended",
                    query_id=q.id,
                    credential_id=c.id,
                )
            )
            continue
        if q.require_cryptographic_holder_binding and not c.holder_binding:
            issues.append(
                PlanIssue(
                    code="holder_binding_unsupported",
                    message="the verifier requires holder binding; this credential has none",
                    query_id=q.id,
                    credential_id=c.id,
                )
            )
            continue
        res = _match_candidate(q, c, protected)
        if isinstance(res, CredentialDisclosure):
            matches.append(res)
        else:
            issues.extend(res)
    return matches, issues if not matches else []


def _collect_warnings(
    queries: tuple[QueryPlan, ...], query_level: tuple[PlanIssue, ...]
) -> tuple[PlanIssue, ...]:
    out = list(query_level)
    for q in queries:
        if q.requested:
            for d in q.selected:
                out.extend(d.warnings)
    return tuple(dict.fromkeys(out))


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
            pick = next((j for j, o in enumerate(s.options) if all(ok[x] for x in o)), None)
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
        warnings=_collect_warnings(qtuple, qwarn),
    )


# --------------------------------------------------------------------------------------------
# Verifier side


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
    first: _ClaimFailure | None = None
    chosen: int | None = None
    satisfied: dict[int, ClaimsQuery] = {}
    resolved: dict[int, list[Selection] | _ClaimFailure] = {}
    for idx, option in enumerate(q.claim_options()):
        failed: _ClaimFailure | None = None
        for cq in option:
            if id(cq) not in resolved:
                resolved[id(cq)] = _resolve_claim(pc.claims, cq)
            res = resolved[id(cq)]
            if isinstance(res, _ClaimFailure):
                failed = res
                break
        if failed is None:
            # The first satisfied option is reported; every satisfied option counts as
            # requested when looking for extra claims (a wallet may pick any, section 6.4.1).
            chosen = idx if chosen is None else chosen
            satisfied.update((id(cq), cq) for cq in option)
        elif chosen is None:
            first = first or failed
    if chosen is not None:
        covered: dict[ConcretePath, Selection] = {}
        for key in satisfied:
            sels = resolved[key]
            assert not isinstance(sels, _ClaimFailure)  # satisfied options resolved
            covered.update((x.path, x) for x in sels)
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
                return not any(isinstance(k, str) and k in protected for k in path[n:])
        return False

    return covered


def _revealed_paths(pc: PresentedCredential) -> list[tuple[Any, ...]]:
    if pc.disclosed is not None:
        return sorted((tuple(p) for p in pc.disclosed), key=repr)
    technical = _TECHNICAL.get(pc.format, frozenset())
    out: list[tuple[Any, ...]] = []

    def walk(value: Any, path: ConcretePath) -> None:
        children = _children(value)
        if not children:
            out.append(path)
            return
        for k, v in children:
            walk(v, (*path, k))

    for k, v in pc.claims.items():
        if k not in technical:
            walk(v, (k,))
    return out


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
            pick = next((j for j, o in enumerate(s.options) if all(x in done for x in o)), None)
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
        for path in _revealed_paths(pc):
            if not covered(path):
                extras.append(ExtraClaim(query_id=qid, index=i, path=tuple(path)))
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
        where = _dotted(first.path) or "(the whole credential)"
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
