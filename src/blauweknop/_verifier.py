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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._codec import parse_json
from ._errors import BlauweKnopError, MalformedError, TrustError
from ._limits import DEFAULT_LIMITS, Limits
from ._trust import TrustList
from .formats import (
    SD_JWT_VC,
    W3C_DI,
    StatusSource,
    VerifiedCredential,
    VerifyPolicy,
    format_for,
    format_of,
)

if TYPE_CHECKING:
    from cryptography import x509

__all__ = [
    "CredentialOutcome",
    "PresentationResult",
    "StatusSource",
    "VerifiedCredential",
    "Verifier",
    "parse_vp_token",
]

#: Format ids (kept for callers; the table lives in :mod:`blauweknop.formats`).
FORMAT_SD_JWT = SD_JWT_VC.id
FORMAT_LDP = W3C_DI.id


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
        x509_roots: pinned root certificates of the scheme CA; issuers may then carry their
            key in an ``x5c`` chain (specs/x509.md). Empty: the trust list's own roots.

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
        x509_roots: Sequence[x509.Certificate] = (),
    ) -> None:
        self.trust_list = trust_list.with_x509_roots(x509_roots) if x509_roots else trust_list
        self.status = status
        self.allow_missing_status = allow_missing_status
        self.leeway = leeway
        self.kb_max_age = kb_max_age
        self.limits = limits
        self._kept_policy: tuple[tuple[Any, ...], VerifyPolicy] | None = None

    def _policy(self) -> VerifyPolicy:
        """The policy the formats get, built again only when an attribute it copies was
        set to another object since the last call (they are public and may change)."""
        fields = (
            self.trust_list,
            self.status,
            self.allow_missing_status,
            self.leeway,
            self.kb_max_age,
            self.limits,
        )
        kept = self._kept_policy
        if kept is not None and all(a is b for a, b in zip(kept[0], fields, strict=True)):
            return kept[1]
        policy = VerifyPolicy(
            trust_list=self.trust_list,
            status=self.status,
            allow_missing_status=self.allow_missing_status,
            leeway=self.leeway,
            max_age=self.kb_max_age,
            limits=self.limits,
        )
        self._kept_policy = (fields, policy)
        return policy

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
            types, claims, disclosed = format_for(c.format).presented(c)
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
        policy = self._policy()
        return format_of(presentation).verify(
            presentation, policy=policy, nonce=nonce, audience=audience, now=now, query_id=query_id
        )
