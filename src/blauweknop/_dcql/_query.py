"""DCQL query model and parsing: OpenID4VP 1.0 section 6 (and section 7 for path syntax).

:meth:`DCQLQuery.parse` validates a query into frozen dataclasses, enforcing every MUST of
section 6 (Credential Query 6.1, Trusted Authorities Query 6.1.1, Credential Set Query 6.2,
Claims Query 6.3) and the claims path pointer syntax of section 7; ``meta`` of the known
formats is checked against Appendix B. Unknown formats parse with their ``meta`` kept as is
and never match (:meth:`CredentialQuery.accepts_type` fails closed). A claim path requested
twice in one Credential Query parses (the Wallet "SHOULD ignore" it); ``strict=True`` enforces
the Verifier's MUST NOT instead.

The lowest layer of the package: it imports nothing from the other ``_dcql`` modules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .._codec import canonical_json, check_depth, parse_json
from .._errors import MalformedError, PolicyError
from .._limits import DEFAULT_LIMITS, Limits

ClaimsPath = tuple[str | int | None, ...]
"""A claims path pointer as written in a query: keys, array indices, ``None`` = every element."""
ClaimValue = str | int | bool
"""A value a Claims Query may ask for (section 6.3: strings, integers, booleans)."""

SD_JWT_VC = "dc+sd-jwt"
LDP_VC = "ldp_vc"
MSO_MDOC = "mso_mdoc"
W3C_FORMATS = frozenset({LDP_VC, "jwt_vc_json"})

_ID_RE = re.compile(r"[A-Za-z0-9_-]+")

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
        out["meta"] = thaw(self.meta)
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

    def first_option(self, answered: Callable[[str], bool]) -> int | None:
        """Index of the first option whose Credential Queries are all ``answered``, or ``None``.

        >>> CredentialSetQuery(options=(("a", "b"), ("c",))).first_option(lambda q: q != "b")
        1
        """
        return next(
            (i for i, option in enumerate(self.options) if all(answered(q) for q in option)),
            None,
        )

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


def bad(where: str, what: str) -> MalformedError:
    """The ``dcql_invalid`` error for a bad member of a query (or of a claims path pointer)."""
    return MalformedError("dcql_invalid", f"{where}: {what}")


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Plain JSON types again for a value frozen by parsing (``meta``, selected claims)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(v) for v in value]
    return value


def is_index(x: Any) -> bool:
    """Whether ``x`` is an array index in a claims path pointer (section 7: non-negative)."""
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _opt_bool(obj: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    if key not in obj:
        return default
    v = obj[key]
    if not isinstance(v, bool):
        raise bad(f"{where}.{key}", "must be a boolean")
    return v


def _identifier(v: Any, where: str) -> str:
    if not isinstance(v, str) or not _ID_RE.fullmatch(v):
        raise bad(where, "must be a non-empty string of A-Z, a-z, 0-9, '_' or '-'")
    return v


def _nonempty_list(v: Any, where: str) -> list[Any]:
    if not isinstance(v, list) or not v:
        raise bad(where, "must be a non-empty array")
    return v


def _string_list(v: Any, where: str) -> tuple[str, ...]:
    items = _nonempty_list(v, where)
    for i, s in enumerate(items):
        if not isinstance(s, str):
            raise bad(f"{where}[{i}]", "must be a string")
    return tuple(items)


def _parse_path(v: Any, where: str) -> ClaimsPath:
    items = _nonempty_list(v, where)
    for i, c in enumerate(items):
        if not (c is None or isinstance(c, str) or is_index(c)):
            raise bad(f"{where}[{i}]", "must be a string, a non-negative integer or null")
    return tuple(items)


def _parse_claim(obj: Any, where: str, fmt: str) -> ClaimsQuery:
    if not isinstance(obj, dict):
        raise bad(where, "must be an object")
    cid = _identifier(obj["id"], f"{where}.id") if "id" in obj else None
    if "path" not in obj:
        raise bad(f"{where}.path", "is required")
    path = _parse_path(obj["path"], f"{where}.path")
    values: tuple[ClaimValue, ...] | None = None
    if "values" in obj:
        raw = _nonempty_list(obj["values"], f"{where}.values")
        for i, x in enumerate(raw):
            # bool is an int; JSON has one number type, so 2.0 is the integer 2; other
            # floats (2.5, NaN) and null are refused
            integral = isinstance(x, float) and x.is_integer()
            if not (isinstance(x, str | int) or integral):
                raise bad(f"{where}.values[{i}]", "must be a string, an integer or a boolean")
        values = tuple(raw)
    retain: bool | None = None
    if fmt == MSO_MDOC and "intent_to_retain" in obj:
        retain = _opt_bool(obj, "intent_to_retain", where, False)
    return ClaimsQuery(id=cid, path=path, values=values, intent_to_retain=retain)


def _check_meta(fmt: str, meta: dict[str, Any], where: str) -> None:
    if fmt == SD_JWT_VC:
        if "vct_values" not in meta:
            raise bad(f"{where}.vct_values", "is required for dc+sd-jwt")
        _string_list(meta["vct_values"], f"{where}.vct_values")
    elif fmt in W3C_FORMATS:
        if "type_values" not in meta:
            raise bad(f"{where}.type_values", f"is required for {fmt}")
        alts = _nonempty_list(meta["type_values"], f"{where}.type_values")
        for i, alt in enumerate(alts):
            _string_list(alt, f"{where}.type_values[{i}]")
    elif fmt == MSO_MDOC and not isinstance(meta.get("doctype_value"), str):
        raise bad(f"{where}.doctype_value", "is required for mso_mdoc and must be a string")


def _parse_credential(obj: Any, where: str, strict: bool) -> CredentialQuery:
    if not isinstance(obj, dict):
        raise bad(where, "must be an object")
    if "id" not in obj:
        raise bad(f"{where}.id", "is required")
    qid = _identifier(obj["id"], f"{where}.id")
    fmt = obj.get("format")
    if not isinstance(fmt, str) or not fmt:
        raise bad(f"{where}.format", "is required and must be a non-empty string")
    multiple = _opt_bool(obj, "multiple", where, False)
    meta = obj.get("meta")
    if not isinstance(meta, dict):
        raise bad(f"{where}.meta", "is required and must be an object")
    _check_meta(fmt, meta, f"{where}.meta")
    authorities: tuple[TrustedAuthoritiesQuery, ...] | None = None
    if "trusted_authorities" in obj:
        raw_ta = _nonempty_list(obj["trusted_authorities"], f"{where}.trusted_authorities")
        parsed_ta = []
        for i, ta in enumerate(raw_ta):
            w = f"{where}.trusted_authorities[{i}]"
            if not isinstance(ta, dict):
                raise bad(w, "must be an object")
            if not isinstance(ta.get("type"), str):
                raise bad(f"{w}.type", "is required and must be a string")
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
                    raise bad(f"{where}.claims[{i}].id", f"duplicate claim id {c.id!r}")
                seen_ids.add(c.id)
            if strict and c.path in seen_paths:
                raise bad(f"{where}.claims[{i}].path", "the same claim is requested twice")
            seen_paths.add(c.path)
    claim_sets: tuple[tuple[str, ...], ...] | None = None
    if "claim_sets" in obj:
        if claims is None:
            raise bad(f"{where}.claim_sets", "must not be present without claims")
        raw_sets = _nonempty_list(obj["claim_sets"], f"{where}.claim_sets")
        for i, c in enumerate(claims):
            if c.id is None:
                raise bad(f"{where}.claims[{i}].id", "is required when claim_sets is present")
        known = {c.id for c in claims}
        sets = []
        for i, s in enumerate(raw_sets):
            ids = _string_list(s, f"{where}.claim_sets[{i}]")
            for j, cid in enumerate(ids):
                if cid not in known:
                    raise bad(f"{where}.claim_sets[{i}][{j}]", f"unknown claim id {cid!r}")
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
        raise bad("DCQL query", "must be a JSON object")
    if "credentials" not in obj:
        raise bad("credentials", "is required")
    raw = _nonempty_list(obj["credentials"], "credentials")
    creds = tuple(_parse_credential(c, f"credentials[{i}]", strict) for i, c in enumerate(raw))
    ids: set[str] = set()
    for i, c in enumerate(creds):
        if c.id in ids:
            raise bad(f"credentials[{i}].id", f"duplicate credential query id {c.id!r}")
        ids.add(c.id)
    sets: tuple[CredentialSetQuery, ...] | None = None
    if "credential_sets" in obj:
        raw_sets = _nonempty_list(obj["credential_sets"], "credential_sets")
        parsed = []
        for i, s in enumerate(raw_sets):
            w = f"credential_sets[{i}]"
            if not isinstance(s, dict):
                raise bad(w, "must be an object")
            if "options" not in s:
                raise bad(f"{w}.options", "is required")
            options = _nonempty_list(s["options"], f"{w}.options")
            opts = []
            for j, o in enumerate(options):
                ow = f"{w}.options[{j}]"
                option = _string_list(o, ow)
                for k, qid in enumerate(option):
                    if qid not in ids:
                        raise bad(f"{ow}[{k}]", f"unknown credential query id {qid!r}")
                opts.append(option)
            parsed.append(
                CredentialSetQuery(options=tuple(opts), required=_opt_bool(s, "required", w, True))
            )
        sets = tuple(parsed)
    return DCQLQuery(credentials=creds, credential_sets=sets)
