"""The citizen's wallet answering OpenID4VP 1.0 requests (HAIP profile and DC API Annex A).

:class:`WalletResponder` fetches and verifies a request, checks the requesting organisation
against the trust list (role ``verifier`` and its registration ``may_request``), plans the
disclosure with :meth:`Wallet.plan`, asks the citizen through a consent callback, and sends the
encrypted response. Refusals raise before anything is presented or sent.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography import x509

from .._codec import parse_json_object
from .._dcql import DCQLQuery, DisclosurePlan
from .._errors import BlauweKnopError, MalformedError, PolicyError, SignatureError, TrustError
from .._limits import DEFAULT_LIMITS, Limits
from .._trust import TrustedOrganisation, TrustList
from .._wallet import Wallet
from ._jwe import encrypt_response
from ._registration import over_asking
from ._request import (
    VerifiedRequest,
    check_response_uri,
    parse_wallet_uri,
    select_enc_key,
    verify_request_object,
)

__all__ = ["Consent", "ReceivedRequest", "ResponseOutcome", "WalletResponder"]

MAX_HTTP_BYTES = 256 * 1024
DC_API_SIGNED = "openid4vp-v1-signed"
DC_API_UNSIGNED = "openid4vp-v1-unsigned"


@dataclass(frozen=True, kw_only=True)
class ReceivedRequest:
    """A verified request, ready to show to the citizen.

    Attributes:
        client_id: the verifier's client identifier; ``audience`` what presentations are bound to.
        verifier: the registered organisation (``None`` for an unsigned DC API request).
        over_asking: what the request asks beyond the verifier's registration (shown to the
            citizen; refused unless the responder allows it).
        dcql: the DCQL query.
        origin: the web origin over the DC API, else ``None``.
    """

    client_id: str | None
    audience: str
    verifier: TrustedOrganisation | None
    over_asking: tuple[str, ...]
    dcql: DCQLQuery = field(repr=False)
    nonce: str = field(repr=False)
    state: str | None = field(repr=False)
    response_uri: str | None
    response_mode: str
    enc_jwk: Mapping[str, Any] = field(repr=False)
    enc: str
    origin: str | None = None

    @property
    def verifier_name(self) -> str:
        """Who asks, for the consent screen."""
        return self.verifier.name if self.verifier is not None else f"unidentified ({self.origin})"


Consent = Callable[[ReceivedRequest, DisclosurePlan], bool]
"""The citizen's consent: shown the request and the exact disclosure plan, returns yes or no."""


@dataclass(frozen=True, kw_only=True)
class ResponseOutcome:
    """What happened after the response was sent.

    Attributes:
        redirect_uri: where the verifier sends the citizen next (``None`` if it named none).
        query_ids: the credential queries answered.
        redirect_status: HTTP status of following the redirect, when followed.
    """

    redirect_uri: str | None
    query_ids: tuple[str, ...]
    redirect_status: int | None = None


class WalletResponder:
    """Answers OpenID4VP requests from a :class:`~blauweknop.Wallet`.

    Args:
        wallet: an open wallet.
        trust_list: the verified scheme trust list (verifiers are looked up in it).
        roots: pinned X.509 root certificates of the scheme (default: the trust list's
            ``x509_roots``); certificates the trust list revokes (``x509_revoked``) are refused.
        client: the HTTP client (injectable; never follows redirects on its own).
        allow_over_asking: answer a request that asks beyond the verifier's registration
            (default: refuse with ``request_not_registered``).
        allow_unregistered: answer unsigned DC API requests (no verifier identity).
        allow_redirect_uri: answer unsigned ``redirect_uri:`` requests (local development only;
            default: ``request_unsigned``).
        clock: the time source when a call passes no ``now``.

    Example:
        ```python
        responder = WalletResponder(wallet, trust_list=tl, roots=[root_cert])
        request = responder.fetch("haip-vp://?client_id=...&request_uri=...")
        outcome = responder.respond(request, consent=lambda req, plan: True)
        ```
    """

    def __init__(
        self,
        wallet: Wallet,
        *,
        trust_list: TrustList,
        roots: Sequence[x509.Certificate] | None = None,
        client: httpx.Client | None = None,
        allow_over_asking: bool = False,
        allow_unregistered: bool = False,
        allow_redirect_uri: bool = False,
        clock: Callable[[], float] = time.time,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.wallet = wallet
        self.trust_list = trust_list
        self.roots = list(trust_list.x509_roots if roots is None else roots)
        self.client = client or httpx.Client(timeout=10.0)
        self.allow_over_asking = allow_over_asking
        self.allow_unregistered = allow_unregistered
        self.allow_redirect_uri = allow_redirect_uri
        self.clock = clock
        self.limits = limits

    # -- receiving ----------------------------------------------------------------------
    def fetch(self, uri: str, *, now: float | None = None) -> ReceivedRequest:
        """Fetch (``request_uri``) or read (``request``) and verify the request of a wallet link.

        Raises:
            SignatureError: ``request_unsigned`` (plain parameters, ``alg: none``),
                ``signature_invalid``, ``algorithm_not_allowed``.
            TrustError: ``x5c_*``, ``client_id_mismatch``, ``verifier_not_registered``.
            MalformedError / PolicyError: see :func:`verify_request_object`.
        """
        now = self.clock() if now is None else now
        params = parse_wallet_uri(uri)
        client_id = params.get("client_id")
        if not client_id:  # RFC 9101 section 5: client_id beside request / request_uri
            raise MalformedError("request_uri_invalid", "the link names no client_id")
        wallet_nonce = None
        if "request" in params:
            token = params["request"]
        elif "request_uri" in params:
            request_uri = check_response_uri(params["request_uri"], what="request_uri")
            method = params.get("request_uri_method", "get")
            if method == "post":
                wallet_nonce = secrets.token_urlsafe(16)
                token = self._http(
                    "POST",
                    request_uri,
                    data={
                        "wallet_nonce": wallet_nonce,
                        "wallet_metadata": json.dumps(_WALLET_METADATA),
                    },
                )
            elif method == "get":
                token = self._http("GET", request_uri)
            else:
                raise MalformedError(
                    "request_uri_invalid", "request_uri_method must be get or post"
                )
        elif self.allow_redirect_uri and (client_id or "").startswith("redirect_uri:"):
            return self._unsigned_redirect_request(params)
        else:
            raise SignatureError("request_unsigned", "the link carries no signed request object")
        verified = verify_request_object(
            token,
            roots=self.roots,
            now=now,
            expected_client_id=client_id,
            wallet_nonce=wallet_nonce,
            revoked=self.trust_list.x509_revoked,
            limits=self.limits,
        )
        return self._received(verified, now=now, origin=None, audience=verified.client_id)

    def _unsigned_redirect_request(self, params: Mapping[str, str]) -> ReceivedRequest:
        """Development only: a ``redirect_uri:`` request by value, unsigned (section 5.9.3).
        Nobody vouches for the verifier, so there is no registration to compare with."""
        client_id = params["client_id"]
        response_uri = check_response_uri(params.get("response_uri"))
        if client_id != "redirect_uri:" + response_uri:
            raise TrustError(
                "client_id_mismatch", "a redirect_uri client id names its response_uri"
            )
        if params.get("response_type") != "vp_token":
            raise MalformedError("request_invalid", "response_type must be vp_token")
        if params.get("response_mode") != "direct_post.jwt":
            raise PolicyError("response_mode_not_supported", "only direct_post.jwt")
        nonce, state = params.get("nonce"), params.get("state")
        if not nonce or len(nonce) > 512 or (state is not None and not state):
            raise MalformedError("request_invalid", "nonce and state must be non-empty strings")
        dcql = DCQLQuery.parse(params.get("dcql_query", ""), self.limits)
        metadata = parse_json_object(
            params.get("client_metadata", ""), limits=self.limits, what="client_metadata"
        )
        enc_jwk, enc = select_enc_key(metadata)
        return ReceivedRequest(
            client_id=client_id,
            audience=client_id,
            verifier=None,
            over_asking=(),
            dcql=dcql,
            nonce=nonce,
            state=state,
            response_uri=response_uri,
            response_mode="direct_post.jwt",
            enc_jwk=enc_jwk,
            enc=enc,
        )

    def _received(
        self, v: VerifiedRequest, *, now: float, origin: str | None, audience: str
    ) -> ReceivedRequest:
        org = self._registered_verifier(v.names, now)
        return ReceivedRequest(
            client_id=v.client_id,
            audience=audience,
            verifier=org,
            over_asking=over_asking(v.dcql, org.may_request),
            dcql=v.dcql,
            nonce=v.nonce,
            state=v.state,
            response_uri=v.response_uri,
            response_mode=v.response_mode,
            enc_jwk=v.enc_jwk,
            enc=v.enc,
            origin=origin,
        )

    def _registered_verifier(self, names: Sequence[str], now: float) -> TrustedOrganisation:
        for name in names:
            org = self.trust_list.organisations.get(name)
            if org is None:
                continue
            if "verifier" not in org.roles or not org.is_active(now):
                raise TrustError(
                    "verifier_not_registered", f"{org.name} is not registered as a verifier"
                )
            return org
        raise TrustError(
            "verifier_not_registered", "the certificate names no organisation of the trust list"
        )

    def _http(self, method: str, url: str, **kw: Any) -> str:
        try:
            with self.client.stream(method, url, follow_redirects=False, **kw) as r:
                if r.status_code != 200:
                    raise PolicyError(
                        "request_fetch_failed", f"{url} answered HTTP {r.status_code}"
                    )
                body = b""
                for chunk in r.iter_bytes():
                    body += chunk
                    if len(body) > MAX_HTTP_BYTES:
                        raise MalformedError("too_large", "the request object is too large")
        except httpx.HTTPError as e:
            raise PolicyError(
                "request_fetch_failed", f"cannot fetch {url}: {type(e).__name__}"
            ) from e
        try:
            return body.decode("ascii").strip()
        except UnicodeDecodeError as e:
            raise MalformedError("request_invalid", "the request object is not ASCII") from e

    # -- DC API (Annex A) -------------------------------------------------------------
    def dc_api_request(
        self, protocol: str, data: Mapping[str, Any], *, origin: str, now: float | None = None
    ) -> ReceivedRequest:
        """Read a request handed over by the W3C Digital Credentials API from ``origin``.

        Signed (``openid4vp-v1-signed``): verified as :meth:`fetch` does, and ``origin`` must
        be one of its ``expected_origins`` (simple string comparison). Unsigned
        (``openid4vp-v1-unsigned``): no verifier identity; refused with
        ``verifier_not_registered`` unless ``allow_unregistered``. Either way the audience is
        ``origin:<origin>``.
        """
        now = self.clock() if now is None else now
        audience = "origin:" + origin
        if protocol == DC_API_SIGNED:
            token = data.get("request")
            if not isinstance(token, str):
                raise MalformedError("request_invalid", "a signed DC API request needs request")
            v = verify_request_object(
                token,
                roots=self.roots,
                now=now,
                response_modes=("dc_api.jwt",),
                revoked=self.trust_list.x509_revoked,
                limits=self.limits,
            )
            origins = v.claims.get("expected_origins")
            if not isinstance(origins, list) or origin not in [
                o for o in origins if isinstance(o, str)
            ]:
                raise PolicyError("origin_mismatch", "the request is not meant for this origin")
            return self._received(v, now=now, origin=origin, audience=audience)
        if protocol != DC_API_UNSIGNED:
            raise MalformedError("request_invalid", f"unknown DC API protocol {protocol!r}")
        if not self.allow_unregistered:
            raise TrustError("verifier_not_registered", "an unsigned request does not say who asks")
        if data.get("response_type") != "vp_token" or data.get("response_mode") != "dc_api.jwt":
            raise PolicyError("response_mode_not_supported", "only vp_token with dc_api.jwt")
        nonce = data.get("nonce")
        if not isinstance(nonce, str) or not nonce:
            raise MalformedError("request_invalid", "nonce must be a non-empty string")
        dcql = DCQLQuery.parse(data.get("dcql_query", {}), self.limits)
        enc_jwk, enc = select_enc_key(data.get("client_metadata"))
        return ReceivedRequest(
            client_id=None,
            audience=audience,
            verifier=None,
            over_asking=(),
            dcql=dcql,
            nonce=nonce,
            state=None,
            response_uri=None,
            response_mode="dc_api.jwt",
            enc_jwk=enc_jwk,
            enc=enc,
            origin=origin,
        )

    # -- answering ----------------------------------------------------------------------
    def prepare(
        self, request: ReceivedRequest, *, consent: Consent, now: float
    ) -> tuple[dict[str, Any], DisclosurePlan]:
        """The checks before anything leaves the wallet: registration, plan, consent; then
        the ``vp_token`` bound to the request's nonce and audience."""
        if request.over_asking and not self.allow_over_asking:
            raise PolicyError(
                "request_not_registered",
                f"{request.verifier_name} asks for more than it is registered for: "
                + "; ".join(request.over_asking),
            )
        plan = self.wallet.plan(request.dcql, now=now)
        if not plan.satisfiable:
            reasons = "; ".join(m.message for m in plan.missing) or "unsatisfiable"
            raise PolicyError("request_not_satisfied", f"cannot answer the request: {reasons}")
        if not consent(request, plan):
            raise PolicyError("consent_declined", "the citizen declined")
        vp_token = self.wallet.present(
            plan, nonce=request.nonce, audience=request.audience, now=now
        )
        return vp_token, plan

    def respond(
        self,
        request: ReceivedRequest,
        *,
        consent: Consent,
        now: float | None = None,
        follow_redirect: bool = True,
    ) -> ResponseOutcome:
        """Answer a ``direct_post.jwt`` request: present, encrypt, POST, follow the redirect.

        When the citizen declines, an ``access_denied`` error response is posted (unencrypted,
        section 8.5) and ``PolicyError("consent_declined")`` raised.
        """
        now = self.clock() if now is None else now
        if request.response_mode != "direct_post.jwt" or request.response_uri is None:
            raise PolicyError(
                "response_mode_not_supported", "use respond_dc_api for DC API requests"
            )
        try:
            vp_token, _ = self.prepare(request, consent=consent, now=now)
        except PolicyError as e:
            if e.code == "consent_declined":
                self._post_error(request, "access_denied")
            raise
        payload: dict[str, Any] = {"vp_token": vp_token}
        if request.state is not None:
            payload["state"] = request.state
        jwe = encrypt_response(payload, request.enc_jwk, enc=request.enc)
        answer = self._post(request.response_uri, {"response": jwe})
        redirect = answer.get("redirect_uri")
        status = None
        if isinstance(redirect, str) and follow_redirect:
            check_response_uri(redirect, what="redirect_uri")
            try:
                status = self.client.get(
                    redirect.split("#", 1)[0], follow_redirects=False
                ).status_code
            except httpx.HTTPError:
                status = None
        return ResponseOutcome(
            redirect_uri=redirect if isinstance(redirect, str) else None,
            query_ids=tuple(vp_token),
            redirect_status=status,
        )

    def respond_dc_api(
        self, request: ReceivedRequest, *, consent: Consent, now: float | None = None
    ) -> dict[str, str]:
        """Answer a DC API request: the ``{"response": JWE}`` object the browser hands back."""
        now = self.clock() if now is None else now
        if request.response_mode != "dc_api.jwt":
            raise PolicyError("response_mode_not_supported", "not a DC API request")
        vp_token, _ = self.prepare(request, consent=consent, now=now)
        return {
            "response": encrypt_response({"vp_token": vp_token}, request.enc_jwk, enc=request.enc)
        }

    def _post(self, url: str, data: Mapping[str, str]) -> dict[str, Any]:
        try:
            r = self.client.post(url, data=dict(data), follow_redirects=False)
        except httpx.HTTPError as e:
            raise PolicyError(
                "response_not_delivered", f"cannot post to {url}: {type(e).__name__}"
            ) from e
        try:
            body = (
                parse_json_object(r.content, limits=self.limits, what="verifier answer")
                if r.content
                else {}
            )
        except BlauweKnopError:
            body = {}
        if r.status_code != 200:
            code = body.get("code") if isinstance(body.get("code"), str) else "response_refused"
            raise PolicyError(
                "response_refused",
                f"the verifier refused the response ({code}, HTTP {r.status_code})",
            )
        return body

    def _post_error(self, request: ReceivedRequest, error: str) -> None:
        if request.response_uri is None:
            return
        data = {"error": error}
        if request.state is not None:
            data["state"] = request.state
        with contextlib.suppress(httpx.HTTPError):  # best effort: the refusal stands anyway
            self.client.post(request.response_uri, data=data, follow_redirects=False)


#: What the wallet tells a verifier on ``request_uri_method=post`` (section 10).
_WALLET_METADATA = {
    "vp_formats_supported": {
        "dc+sd-jwt": {"sd-jwt_alg_values": ["ES256", "EdDSA"], "kb-jwt_alg_values": ["ES256"]},
        "ldp_vc": {"proof_type_values": ["DataIntegrityProof"]},
    },
    "client_id_prefixes_supported": ["x509_hash"],
    "response_modes_supported": ["direct_post.jwt", "dc_api.jwt"],
}
