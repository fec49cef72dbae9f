"""The creditor's verifier: offline verification of OpenID4VP ``vp_token`` responses.

A ``vp_token`` maps DCQL credential-query ids to lists of presentations: SD-JWT VC strings
(``dc+sd-jwt``) or W3C Verifiable Presentations with Data Integrity proofs (``ldp_vc``).
Each presentation is checked completely and offline: format rules, issuer signature with a key
from the verified trust list, the issuer's role for the credential type, holder binding to the
expected nonce and audience, validity times, and status from the cached status lists. With a
DCQL request, the response must answer it (no unknown query ids, every requested claim).

Example:
    See ``examples/creditor_service.py`` and the README section "Creditor: verify in code".
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ._codec import parse_json
from ._errors import (
    BlauweKnopError,
    MalformedError,
    StatusError,
    TrustError,
)
from ._limits import DEFAULT_LIMITS, Limits
from ._profile import TECHNICAL_CLAIMS, CredentialProfile, get_profile, w3c_type_iris
from ._sdjwt import SDJWT, KeyBindingPolicy, verify_sd_jwt
from ._sdjwt_vc import SD_JWT_VC_TYP, trust_list_resolver
from ._trust import TrustedOrganisation, TrustList

__all__ = [
    "CredentialOutcome",
    "PresentationResult",
    "StatusSource",
    "VerifiedCredential",
    "Verifier",
    "parse_vp_token",
]

FORMAT_SD_JWT = "dc+sd-jwt"
FORMAT_LDP = "ldp_vc"


class StatusSource(Protocol):
    """Where the verifier reads credential status from, offline (e.g. a synced cache dir).

    Each method returns ``"valid"`` or raises :class:`~blauweknop.StatusError` with code
    ``revoked``, ``suspended``, ``status_unavailable`` or ``status_invalid``.
    """

    def token_status(
        self, uri: str, idx: int, *, issuer: TrustedOrganisation, now: float
    ) -> str: ...

    def bitstring_status(
        self, entry: Mapping[str, Any], *, issuer: TrustedOrganisation, now: float
    ) -> str: ...


@dataclass(frozen=True, kw_only=True)
class VerifiedCredential:
    """One verified credential from a presentation.

    Attributes:
        query_id: the DCQL credential-query id it answered.
        format: ``dc+sd-jwt`` or ``ldp_vc``.
        vct: the credential type (``urn:rodeknop:payment-incapacity-declaration:1``...).
        issuer: the issuing organisation's id; ``issuer_name`` its trust-list name.
        claims: the disclosed domain claims (technical claims removed).
        disclosed: claim paths the holder disclosed selectively.
        issued_at / valid_from / valid_until: Unix times (``None`` when absent).
        status: ``"valid"``, or ``"not_checked"`` when the caller allowed missing status.
        holder: the holder's public JWK.
    """

    query_id: str | None
    format: str
    vct: str
    issuer: str
    issuer_name: str
    claims: Mapping[str, Any]
    disclosed: frozenset[tuple[Any, ...]] = field(default_factory=frozenset)
    issued_at: float | None = None
    valid_from: float | None = None
    valid_until: float | None = None
    status: str = "valid"
    holder: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON summary (for ``--json`` output and logs)."""
        return {
            "query_id": self.query_id,
            "format": self.format,
            "vct": self.vct,
            "issuer": self.issuer,
            "issuer_name": self.issuer_name,
            "status": self.status,
            "issued_at": self.issued_at,
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "claims": self.claims,
        }


@dataclass(frozen=True, kw_only=True)
class CredentialOutcome:
    """The outcome for one presentation: a credential, or the error that rejected it."""

    query_id: str | None
    index: int
    credential: VerifiedCredential | None = None
    error: BlauweKnopError | None = None

    @property
    def ok(self) -> bool:
        """Whether this presentation verified."""
        return self.error is None


@dataclass(frozen=True, kw_only=True)
class PresentationResult:
    """A fully verified ``vp_token``: every presentation verified (and the request answered).

    Attributes:
        credentials: all verified credentials in response order.
    """

    credentials: tuple[VerifiedCredential, ...]

    def by_query(self, query_id: str) -> list[VerifiedCredential]:
        """The credentials that answered ``query_id``."""
        return [c for c in self.credentials if c.query_id == query_id]

    def of_type(self, vct: str) -> list[VerifiedCredential]:
        """The credentials of type ``vct``."""
        return [c for c in self.credentials if c.vct == vct]


def parse_vp_token(
    vp_token: str | bytes | Mapping[str, Any], limits: Limits = DEFAULT_LIMITS
) -> dict[str, list[str | dict[str, Any]]]:
    """Check the OpenID4VP 1.0 ``vp_token`` shape: ``{query_id: [presentation, ...]}``.

    A presentation is a string (SD-JWT VC) or a JSON object (W3C VP). Anything else is
    ``MalformedError("vp_token_malformed")``.
    """
    obj: Any = vp_token
    if isinstance(vp_token, str | bytes):
        # Valid JSON of the wrong shape (an array, a string) is a malformed vp_token.
        obj = parse_json(
            vp_token, limits=limits, what="vp_token", max_bytes=limits.max_vp_token_bytes
        )
    if not isinstance(obj, Mapping) or not obj:
        raise MalformedError("vp_token_malformed", "vp_token must be a non-empty JSON object")
    out: dict[str, list[str | dict[str, Any]]] = {}
    total = 0
    for qid, items in obj.items():
        if not isinstance(qid, str) or not qid:
            raise MalformedError("vp_token_malformed", "vp_token keys must be query ids")
        if not isinstance(items, list) or not items:
            raise MalformedError(
                "vp_token_malformed", f"vp_token[{qid!r}] must be a non-empty array"
            )
        for it in items:
            if not isinstance(it, str | dict):
                raise MalformedError(
                    "vp_token_malformed", f"vp_token[{qid!r}] holds a {type(it).__name__}"
                )
        total += len(items)
        out[qid] = list(items)
    if total > limits.max_presentations:
        raise MalformedError("too_large", f"more than {limits.max_presentations} presentations")
    return out


def _domain_claims(claims: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in claims.items() if k not in TECHNICAL_CLAIMS}


class Verifier:
    """Verifies presentations offline against a trust list and cached status lists.

    Args:
        trust_list: a verified :class:`TrustList` (see ``TrustList.verify``).
        status: where status lists are read from; ``None`` means none are available.
        allow_missing_status: accept credentials whose status cannot be checked (marked
            ``status="not_checked"``). Off by default: missing status is a rejection.
        leeway: clock skew for ``exp``/``nbf``/``iat`` (seconds).
        kb_max_age: how old a key-binding proof may be (seconds).
        limits: input limits.

    Example:
        In a creditor's back office (runnable: ``examples/creditor_service.py``):

        ```python
        verifier = Verifier(TrustList.verify(token, anchor), status=StatusCache(status_dir))
        result = verifier.verify(vp_token, nonce=nonce, audience="urn:oin:...")
        result.of_type(RODE_KNOP_VCT)[0].claims["valid_until"]
        ```
    """

    def __init__(
        self,
        trust_list: TrustList,
        *,
        status: StatusSource | None = None,
        allow_missing_status: bool = False,
        leeway: int = 60,
        kb_max_age: int = 300,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.trust_list = trust_list
        self.status = status
        self.allow_missing_status = allow_missing_status
        self.leeway = leeway
        self.kb_max_age = kb_max_age
        self.limits = limits

    # -- whole vp_token ---------------------------------------------------------------
    def check(
        self,
        vp_token: str | bytes | Mapping[str, Any],
        *,
        nonce: str,
        audience: str,
        now: float | None = None,
    ) -> list[CredentialOutcome]:
        """Verify every presentation independently; one outcome each (never raises for a
        bad presentation, only for a malformed ``vp_token`` as a whole)."""
        now = time.time() if now is None else now
        token = parse_vp_token(vp_token, self.limits)
        outcomes: list[CredentialOutcome] = []
        for qid, items in token.items():
            for i, item in enumerate(items):
                try:
                    cred = self.verify_presentation(
                        item, nonce=nonce, audience=audience, now=now, query_id=qid
                    )
                    outcomes.append(CredentialOutcome(query_id=qid, index=i, credential=cred))
                except BlauweKnopError as e:
                    outcomes.append(CredentialOutcome(query_id=qid, index=i, error=e))
        return outcomes

    def verify(
        self,
        vp_token: str | bytes | Mapping[str, Any],
        *,
        nonce: str,
        audience: str,
        request: Any | None = None,
        now: float | None = None,
    ) -> PresentationResult:
        """Verify a whole ``vp_token``; raise the first rejection (fail closed).

        With ``request`` (a DCQL query, parsed or as JSON), the response must answer it:
        unknown query ids, missing required credentials or claims are ``PolicyError``.
        """
        outcomes = self.check(vp_token, nonce=nonce, audience=audience, now=now)
        for o in outcomes:
            if o.error is not None:
                e = o.error
                e.query_id = o.query_id  # type: ignore[attr-defined]
                raise e
        creds = tuple(o.credential for o in outcomes if o.credential is not None)
        if request is not None:
            self._check_request(request, creds)
        return PresentationResult(credentials=creds)

    def _check_request(self, request: Any, creds: Sequence[VerifiedCredential]) -> None:
        from ._dcql import DCQLQuery, PresentedCredential, check_response

        query = request if isinstance(request, DCQLQuery) else DCQLQuery.parse(request, self.limits)
        presented: dict[str, list[PresentedCredential]] = {}
        for c in creds:
            assert c.query_id is not None
            claims: Mapping[str, Any] = c.claims
            types: tuple[str, ...] = (c.vct,)
            if c.format == FORMAT_LDP:
                profile = get_profile(c.vct)
                types = w3c_type_iris(("VerifiableCredential", profile.w3c_type))
                claims = {"credentialSubject": dict(c.claims)}
            disclosed = c.disclosed if c.format == FORMAT_SD_JWT else None
            presented.setdefault(c.query_id, []).append(
                PresentedCredential(
                    format=c.format,
                    types=types,
                    claims=dict(claims),
                    disclosed=disclosed,
                    holder_bound=True,
                )
            )
        check_response(query, presented)

    # -- one presentation ---------------------------------------------------------------
    def verify_presentation(
        self,
        presentation: str | Mapping[str, Any],
        *,
        nonce: str,
        audience: str,
        now: float | None = None,
        query_id: str | None = None,
    ) -> VerifiedCredential:
        """Verify one presentation (SD-JWT VC string or W3C VP object)."""
        now = time.time() if now is None else now
        # The trust list was fresh when loaded; a long-running verifier must stop at its exp.
        if now > self.trust_list.expires_at + self.leeway:
            raise TrustError("trust_list_expired", "trust list has expired; fetch a fresh one")
        if now + self.leeway < self.trust_list.not_before:
            raise TrustError("trust_list_not_yet_valid", "trust list is not valid yet")
        if isinstance(presentation, str):
            return self._verify_sd_jwt_vc(presentation, nonce, audience, now, query_id)
        if isinstance(presentation, Mapping):
            from ._di_recipes import verify_di_presentation

            return verify_di_presentation(self, presentation, nonce, audience, now, query_id)
        raise MalformedError("vp_token_malformed", "presentation must be a string or an object")

    def _verify_sd_jwt_vc(
        self, text: str, nonce: str, audience: str, now: float, query_id: str | None
    ) -> VerifiedCredential:
        sd = SDJWT.parse(text, limits=self.limits)
        found: dict[str, Any] = {}

        resolve = trust_list_resolver(sd, self.trust_list, now=now, found=found, limits=self.limits)

        res = verify_sd_jwt(
            sd,
            issuer_key=resolve,
            key_binding=KeyBindingPolicy(
                nonce=nonce, audience=audience, max_age=self.kb_max_age, max_future=self.leeway
            ),
            typ=SD_JWT_VC_TYP,
            now=now,
            leeway=self.leeway,
            limits=self.limits,
        )
        org: TrustedOrganisation = found["org"]
        profile: CredentialProfile = found["profile"]
        claims = res.claims
        if "exp" not in claims:
            raise MalformedError("malformed_claim", "credential has no exp")
        profile.check_disclosed(claims, res.disclosed)
        domain = _domain_claims(claims)
        profile.check_received(domain, issuer_id=org.id, issuer_name=org.name)
        status = self._sd_jwt_status(claims.get("status"), org, now)
        return VerifiedCredential(
            query_id=query_id,
            format=FORMAT_SD_JWT,
            vct=profile.vct,
            issuer=org.id,
            issuer_name=org.name,
            claims=domain,
            disclosed=res.disclosed,
            issued_at=claims.get("iat"),
            valid_from=claims.get("nbf"),
            valid_until=claims.get("exp"),
            status=status,
            holder=res.holder_jwk,
        )

    def _sd_jwt_status(self, status: Any, org: TrustedOrganisation, now: float) -> str:
        if status is None:
            if self.allow_missing_status:
                return "not_checked"
            raise StatusError("status_unavailable", "credential carries no status reference")
        sl = status.get("status_list") if isinstance(status, Mapping) else None
        if not isinstance(sl, Mapping):
            raise MalformedError("malformed_claim", "status.status_list missing")
        idx, uri = sl.get("idx"), sl.get("uri")
        if not isinstance(idx, int) or isinstance(idx, bool) or idx < 0 or not isinstance(uri, str):
            raise MalformedError("malformed_claim", "status.status_list needs idx and uri")
        if self.status is None:
            if self.allow_missing_status:
                return "not_checked"
            raise StatusError("status_unavailable", "no status source configured")
        try:
            return self.status.token_status(uri, idx, issuer=org, now=now)
        except StatusError as e:
            if e.code == "status_unavailable" and self.allow_missing_status:
                return "not_checked"
            raise
