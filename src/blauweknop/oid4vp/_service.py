"""The creditor's side of OpenID4VP 1.0 with HAIP: requests out, encrypted responses in.

:class:`VerifierService` holds the protocol rules and nothing of HTTP: the ASGI app
(:func:`blauweknop.oid4vp.verifier_app`) and tests call it directly.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._dcql import DCQLQuery
from .._errors import BlauweKnopError, MalformedError, PolicyError
from .._keys import Signer
from .._limits import DEFAULT_LIMITS, Limits
from .._verifier import PresentationResult, Verifier
from ._certs import client_id_for
from ._jwe import decrypt_response, ephemeral_key, public_enc_jwk
from ._request import check_response_uri, request_claims, sign_request
from ._store import Session, SessionStore

__all__ = ["Decision", "RequestHandle", "VerifierService"]

log = logging.getLogger("blauweknop.oid4vp")

Decision = Callable[[PresentationResult, float], Mapping[str, Any] | None]
"""A domain policy over a verified result and the time, e.g. the Rode Knop hold decision:
returns plain JSON (``None`` when it has nothing to say). The CLI wires
``rodeknop_vc.hold_decision`` in (``blauweknop`` never imports ``rodeknop_vc``)."""


@dataclass(frozen=True, kw_only=True)
class RequestHandle:
    """A new request: what the creditor's page shows, and the handle for the result.

    Attributes:
        session_id: secret; fetch the result with :meth:`VerifierService.result`.
        request_uri: where the wallet fetches the signed request object.
        wallet_url: the invocation link (QR code for cross-device, a link for same-device).
        expires_at: Unix time after which no response is accepted.
    """

    session_id: str
    request_id: str
    request_uri: str
    wallet_url: str
    client_id: str
    expires_at: float
    nonce: str = field(repr=False)
    state: str = field(repr=False)


def _token() -> str:
    return secrets.token_urlsafe(24)


class VerifierService:
    """Creates signed Authorization Requests and verifies the encrypted responses.

    Args:
        verifier: the offline :class:`~blauweknop.Verifier` (trust list, status cache).
        signer: the key of the leaf certificate in ``x5c``.
        x5c: the certificate chain, leaf first (standard base64 DER strings).
        base_url: the public base URL of the app (``https://creditor.example``).
        store: where sessions live.
        decide: domain policy on a verified result (e.g. the Rode Knop hold decision).
        lifetime: seconds a request may be answered.
        scheme: the wallet invocation scheme (``haip-vp``, ``haip`` or ``openid4vp``).
        clock: the time source when a call passes no ``now`` (the ASGI app passes none).

    Example:
        ```python
        service = VerifierService(verifier=v, signer=key, x5c=chain, base_url=url,
                                  store=SessionStore(":memory:"))
        handle = service.create_request(dcql)          # show handle.wallet_url as a QR code
        service.result(handle.session_id)              # poll until status == "done"
        ```
    """

    def __init__(
        self,
        *,
        verifier: Verifier,
        signer: Signer,
        x5c: Sequence[str],
        base_url: str,
        store: SessionStore,
        decide: Decision | None = None,
        lifetime: int = 300,
        scheme: str = "haip-vp",
        clock: Callable[[], float] = time.time,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.verifier = verifier
        self.signer = signer
        self.x5c = list(x5c)
        self.client_id = client_id_for(self.x5c)
        self.base_url = check_response_uri(base_url.rstrip("/"), what="base_url")
        self.store = store
        self.decide = decide
        self.lifetime = lifetime
        self.scheme = scheme
        self.clock = clock
        self.limits = limits

    # -- URLs ---------------------------------------------------------------------------
    def request_uri(self, request_id: str) -> str:
        """Where the wallet fetches the request object."""
        return f"{self.base_url}/oid4vp/request/{request_id}"

    def response_uri(self, request_id: str) -> str:
        """Where the wallet posts the encrypted response."""
        return f"{self.base_url}/oid4vp/response/{request_id}"

    def wallet_link(self, request_id: str) -> str:
        """The wallet invocation link (by reference, ``request_uri_method=post``)."""
        query = urllib.parse.urlencode(
            {
                "client_id": self.client_id,
                "request_uri": self.request_uri(request_id),
                "request_uri_method": "post",
            }
        )
        return f"{self.scheme}://?{query}"

    # -- requests -----------------------------------------------------------------------
    def create_request(
        self,
        dcql: DCQLQuery | Mapping[str, Any] | str,
        *,
        now: float | None = None,
        signed: bool = True,
    ) -> RequestHandle:
        """A new session for ``dcql`` with a fresh nonce, state and encryption key.

        ``signed=False`` is for local development only: the client identifier is
        ``redirect_uri:<response_uri>`` and the whole request travels unsigned in the wallet
        link (section 5.9.3); wallets refuse it unless told to accept it.
        """
        now = self.clock() if now is None else now
        query = (
            dcql if isinstance(dcql, DCQLQuery) else DCQLQuery.parse(dcql, self.limits, strict=True)
        )
        request_id = _token()
        client_id = self.client_id if signed else "redirect_uri:" + self.response_uri(request_id)
        session = Session(
            session_id=_token(),
            request_id=request_id,
            state=_token(),
            nonce=_token(),
            client_id=client_id,
            audience=client_id,
            dcql=query.to_dict(),
            enc_key=ephemeral_key(),
            response_mode="direct_post.jwt",
            origin=None,
            created_at=now,
            expires_at=now + self.lifetime,
        )
        self.store.add(session)
        uri = self.request_uri(session.request_id)
        log.info("oid4vp.request_created", extra={"request_id": session.request_id})
        if signed:
            link = self.wallet_link(session.request_id)
        else:
            claims = request_claims(
                client_id=client_id,
                response_uri=self.response_uri(request_id),
                nonce=session.nonce,
                state=session.state,
                dcql_query=session.dcql,
                enc_jwk=public_enc_jwk(session.enc_key),
                now=now,
                lifetime=self.lifetime,
            )
            for member in ("aud", "iat", "exp"):
                claims.pop(member)
            params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in claims.items()}
            link = f"openid4vp://?{urllib.parse.urlencode(params)}"
            uri = ""
        return RequestHandle(
            session_id=session.session_id,
            request_id=session.request_id,
            request_uri=uri,
            wallet_url=link,
            client_id=client_id,
            expires_at=session.expires_at,
            nonce=session.nonce,
            state=session.state,
        )

    def _pending(self, request_id: str, now: float) -> Session:
        session = self.store.by_request(request_id)
        if session is None:
            raise PolicyError("session_unknown", "no such request")
        if session.status != "pending":
            raise PolicyError("response_replayed", "this request was already answered")
        if session.expired(now):
            raise PolicyError("session_expired", "the request has expired")
        return session

    def request_object(
        self, request_id: str, *, wallet_nonce: str | None = None, now: float | None = None
    ) -> str:
        """The signed request object for ``request_id`` (``GET``, or ``POST`` with the
        wallet's ``wallet_nonce``, section 5.10)."""
        now = self.clock() if now is None else now
        session = self._pending(request_id, now)
        if session.client_id != self.client_id or session.response_mode != "direct_post.jwt":
            # an unsigned (redirect_uri) session, or one for the DC API
            raise PolicyError("session_unknown", "this request has no request object")
        if wallet_nonce is not None and (not wallet_nonce or len(wallet_nonce) > 256):
            raise MalformedError("request_invalid", "wallet_nonce must be a short string")
        claims = request_claims(
            client_id=self.client_id,
            response_uri=self.response_uri(request_id),
            nonce=session.nonce,
            state=session.state,
            dcql_query=session.dcql,
            enc_jwk=public_enc_jwk(session.enc_key),
            now=now,
            lifetime=max(1, int(session.expires_at - now)),
            wallet_nonce=wallet_nonce,
        )
        return sign_request(claims, self.signer, self.x5c)

    # -- responses ----------------------------------------------------------------------
    def handle_response(
        self, request_id: str, form: Mapping[str, str], *, now: float | None = None
    ) -> dict[str, str]:
        """Process a ``direct_post.jwt`` POST (its form fields) for ``request_id``.

        Returns ``{"redirect_uri": ...}`` with a fresh ``response_code`` for the creditor's
        page. A refused response raises and leaves the session pending (its code is noted for
        the page); only a verified response completes the session, exactly once.
        """
        now = self.clock() if now is None else now
        session = self._pending(request_id, now)
        if session.response_mode != "direct_post.jwt":  # DC API answers come back in the page
            raise PolicyError("session_unknown", "this request takes no direct_post response")
        try:
            result = self._verify_form(session, form, now)
        except BlauweKnopError as e:
            self.store.note_error(request_id, e.code)
            log.info("oid4vp.response_refused", extra={"request_id": request_id, "code": e.code})
            raise
        code = _token()
        self.store.complete(request_id, result=result, response_code=code, now=now)
        log.info("oid4vp.response_verified", extra={"request_id": request_id})
        return {"redirect_uri": f"{self.base_url}/oid4vp/done#response_code={code}"}

    def _verify_form(self, session: Session, form: Mapping[str, str], now: float) -> dict[str, Any]:
        if "error" in form and "response" not in form:
            # An error response (section 8.5) is not encrypted; it cannot complete a session.
            raise PolicyError("wallet_error", f"the wallet answered {str(form['error'])[:64]!r}")
        token = form.get("response")
        if not isinstance(token, str):
            raise MalformedError("response_invalid", "the POST has no response parameter")
        payload = decrypt_response(token, session.enc_key, limits=self.limits)
        return self.verify_payload(session, payload, now)

    def verify_payload(
        self, session: Session, payload: Mapping[str, Any], now: float
    ) -> dict[str, Any]:
        """Check a decrypted response for ``session`` and build the stored result."""
        if session.response_mode == "direct_post.jwt" and payload.get("state") != session.state:
            raise PolicyError("state_mismatch", "the response belongs to another request")
        if "vp_token" not in payload:
            raise MalformedError("response_invalid", "the response has no vp_token")
        result = self.verifier.verify(
            payload["vp_token"],
            nonce=session.nonce,
            audience=session.audience,
            request=session.dcql,
            now=now,
        )
        decision = self.decide(result, now) if self.decide is not None else None
        return {
            "verified": True,
            "credentials": [c.to_json() for c in result.credentials],
            "decision": None if decision is None else dict(decision),
        }

    # -- the W3C Digital Credentials API (OpenID4VP Annex A) --------------------------
    def create_dc_api_request(
        self,
        dcql: DCQLQuery | Mapping[str, Any] | str,
        *,
        origin: str,
        signed: bool = True,
        now: float | None = None,
    ) -> tuple[RequestHandle, dict[str, Any]]:
        """A session and the ``DigitalCredentialRequestOptions`` request for ``origin`` (the
        web origin of the creditor's page): signed (``openid4vp-v1-signed``, a JAR with
        ``expected_origins``) or unsigned. Presentations are bound to ``origin:<origin>``."""
        now = self.clock() if now is None else now
        check_response_uri(origin, what="origin")
        if urllib.parse.urlsplit(origin).path not in ("", "/") or origin.endswith("/"):
            raise MalformedError("request_invalid", "an origin has no path")
        query = (
            dcql if isinstance(dcql, DCQLQuery) else DCQLQuery.parse(dcql, self.limits, strict=True)
        )
        session = Session(
            session_id=_token(),
            request_id=_token(),
            state=_token(),
            nonce=_token(),
            client_id=self.client_id if signed else "",
            audience="origin:" + origin,
            dcql=query.to_dict(),
            enc_key=ephemeral_key(),
            response_mode="dc_api.jwt",
            origin=origin,
            created_at=now,
            expires_at=now + self.lifetime,
        )
        self.store.add(session)
        claims = request_claims(
            client_id=self.client_id,
            response_uri="",
            nonce=session.nonce,
            state=None,
            dcql_query=session.dcql,
            enc_jwk=public_enc_jwk(session.enc_key),
            response_mode="dc_api.jwt",
            now=now,
            lifetime=self.lifetime,
            expected_origins=[origin] if signed else None,
        )
        if signed:
            request = {
                "protocol": "openid4vp-v1-signed",
                "data": {"request": sign_request(claims, self.signer, self.x5c)},
            }
        else:
            for member in ("client_id", "iat", "exp"):
                claims.pop(member)
            request = {"protocol": "openid4vp-v1-unsigned", "data": claims}
        handle = RequestHandle(
            session_id=session.session_id,
            request_id=session.request_id,
            request_uri="",
            wallet_url="",
            client_id=session.client_id,
            expires_at=session.expires_at,
            nonce=session.nonce,
            state=session.state,
        )
        return handle, request

    def handle_dc_api_response(
        self,
        session_id: str,
        data: Mapping[str, Any],
        *,
        origin: str,
        now: float | None = None,
    ) -> dict[str, Any]:
        """Verify what ``navigator.credentials.get`` returned (``{"response": JWE}``) on the
        page at ``origin``; returns the session's result (once)."""
        now = self.clock() if now is None else now
        found = self.store.get(session_id)
        if found is None or found.response_mode != "dc_api.jwt":
            raise PolicyError("session_unknown", "no such DC API session")
        session = self._pending(found.request_id, now)
        try:
            if origin != session.origin:
                raise PolicyError("origin_mismatch", "the response came from another origin")
            token = data.get("response")
            if not isinstance(token, str):
                raise MalformedError("response_invalid", "the DC API answer has no response")
            payload = decrypt_response(token, session.enc_key, limits=self.limits)
            result = self.verify_payload(session, payload, now)
        except BlauweKnopError as e:
            self.store.note_error(session.request_id, e.code)
            raise
        self.store.complete(session.request_id, result=result, response_code=_token(), now=now)
        return self.result(session_id, now=now)

    # -- results ------------------------------------------------------------------------
    def result(self, session_id: str, *, now: float | None = None) -> dict[str, Any]:
        """The session's state for the back office: ``pending`` (with ``last_error``),
        ``expired`` or ``done`` with the verified result and decision."""
        now = self.clock() if now is None else now
        session = self.store.get(session_id)
        if session is None:
            raise PolicyError("session_unknown", "no such session")
        return _status(session, now)

    def result_by_code(self, response_code: str, *, now: float | None = None) -> dict[str, Any]:
        """The result the same-device redirect points at (by its ``response_code``)."""
        now = self.clock() if now is None else now
        session = self.store.by_response_code(response_code)
        if session is None:
            raise PolicyError("session_unknown", "no such response code")
        return _status(session, now)


def _status(session: Session, now: float) -> dict[str, Any]:
    if session.status == "done":
        return {"status": "done", "result": session.result}
    if session.expired(now):
        return {"status": "expired", "last_error": session.last_error}
    return {"status": "pending", "last_error": session.last_error}
