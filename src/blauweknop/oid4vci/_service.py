"""The credential issuer service: the OpenID4VCI 1.0 protocol rules in a plain class.

:class:`IssuerService` answers :class:`HttpRequest` values with :class:`HttpResponse`
values; :func:`blauweknop.oid4vci.asgi_app` puts it behind Starlette/uvicorn, and any other
framework can do the same. Credentials are issued through the organisation's
:class:`~blauweknop.Issuer` (register, status index, audit exactly as for a file), bound to
the key each ``jwt`` proof proves. Protocol state lives in a :class:`ProtocolStore` (by
default the issuer's register file).

Endpoints (paths under the issuer URL):

=============================================  =====  ======================================
``/.well-known/openid-credential-issuer``      GET    issuer metadata (OpenID4VCI 12.2)
``/.well-known/oauth-authorization-server``    GET    RFC 8414 metadata
``/offers/{offer_id}``                         GET    an offer by reference (4.1.3)
``/token``                                     POST   pre-authorized code / authorization code
``/nonce``                                     POST   a fresh ``c_nonce`` (7)
``/credential``                                POST   credential(s), DPoP-bound token (8)
``/notification``                              POST   the wallet's event (11)
``/par`` and ``/authorize``                    POST / GET   PAR (RFC 9126) + PKCE S256
=============================================  =====  ======================================
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .._codec import b64u_decode, b64u_encode, parse_json_object
from .._errors import BlauweKnopError, InvalidDataError, PolicyError, StorageError
from .._keys import Key
from .._limits import Limits
from .._model import CredentialModel
from .._profile import CredentialProfile
from ._errors import OAuthError
from ._metadata import (
    CredentialConfiguration,
    authorization_server_metadata,
    configurations_for,
    issuer_metadata,
    signed_metadata,
)
from ._proofs import verify_dpop, verify_key_proof
from ._store import OfferRecord, ProtocolStore, SQLiteProtocolStore, digest, tx_code_digest

if TYPE_CHECKING:
    from .._issuer import Issuer

__all__ = [
    "Authenticator",
    "CredentialOfferLink",
    "HttpRequest",
    "HttpResponse",
    "IssuerService",
]

_log = logging.getLogger("blauweknop.oid4vci")

PRE_AUTH_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
_EVENTS = frozenset({"credential_accepted", "credential_failure", "credential_deleted"})
_NO_STORE = {"Cache-Control": "no-store"}
_PAR_TTL = 60
_COOKIE = "bk_counsellor"
_CODE_TTL = 60
_PKCE_RE = re.compile(r"[A-Za-z0-9_-]{43}")
_VERIFIER_RE = re.compile(r"[A-Za-z0-9._~-]{43,128}")


@dataclass(frozen=True, kw_only=True)
class HttpRequest:
    """One HTTP request as the service sees it.

    Attributes:
        method: ``GET``/``POST``...
        url: the full URL the client used (the DPoP ``htu`` is compared with it).
        path: the path below the issuer URL (``/token``).
        headers: header name (lower case) -> every value sent under that name.
        body: the raw body.
    """

    method: str
    url: str
    path: str
    headers: Mapping[str, Sequence[str]] = field(default_factory=dict)
    body: bytes = b""
    query: str = ""

    def header(self, name: str) -> str | None:
        """The single value of a header; a repeated header is refused (``invalid_request``)."""
        values = self.headers.get(name.lower(), ())
        if len(values) > 1:
            raise OAuthError("invalid_request", f"header {name} repeated")
        return values[0] if values else None


@dataclass(frozen=True, kw_only=True)
class HttpResponse:
    """What the service answers: status, headers and body bytes."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls, value: Any, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> HttpResponse:
        """A JSON response."""
        body = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        return cls(
            status=status,
            body=body,
            headers={"Content-Type": "application/json", **(headers or {})},
        )

    @classmethod
    def html(cls, page: str, csp: str, status: int = 200) -> HttpResponse:
        """An HTML page with its Content-Security-Policy, never cached."""
        return cls(
            status=status,
            body=page.encode("utf-8"),
            headers={
                "Content-Type": "text/html; charset=utf-8",
                "Content-Security-Policy": csp,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-store",
            },
        )

    def json_body(self) -> Any:
        """The body parsed as JSON (tests, embedding code)."""
        return json.loads(self.body)


@dataclass(frozen=True, kw_only=True)
class CredentialOfferLink:
    """A credential offer as handed to the citizen.

    Attributes:
        offer_id: the offer's id in the store.
        uri: the link to put in the QR code or behind a button
            (``openid-credential-offer://?credential_offer...``).
        offer: the credential offer object.
        tx_code: the PIN to hand over on another channel (``None`` without PIN).
        expires_at: Unix time after which the code is refused.
    """

    offer_id: str
    uri: str
    offer: dict[str, Any]
    tx_code: str | None
    expires_at: int

    def qr_svg(self, *, scale: int = 4) -> str:
        """The link as an SVG QR code (inline-ready, no XML declaration)."""
        import io

        import segno

        out = io.BytesIO()
        segno.make(self.uri, error="m").save(out, kind="svg", scale=scale, xmldecl=False)
        return out.getvalue().decode("utf-8")


class Authenticator(Protocol):
    """The citizen's login for the authorization code grant (DigiD and the like stand behind
    it). Called at the authorization endpoint with the request and the pushed request's
    parameters (``scope``, ``issuer_state``, ``state``...); answers the ``issuer_state`` of the
    offer the authenticated citizen may redeem, or raises :class:`OAuthError`
    (``access_denied``)."""

    def __call__(self, request: HttpRequest, params: Mapping[str, Any]) -> str: ...


class _PreparedCredential(CredentialModel):
    """Domain claims prepared (and validated by their model) when the offer was made."""

    def __init__(self, profile: CredentialProfile, claims: Mapping[str, Any]) -> None:
        self._profile = profile
        self._claims = dict(claims)

    def profile(self) -> CredentialProfile:  # type: ignore[override]
        return self._profile

    def to_claims(self) -> dict[str, Any]:
        return json.loads(json.dumps(self._claims))  # type: ignore[no-any-return]


class IssuerService:
    """An OpenID4VCI credential issuer (and its authorization server) in front of an issuer
    home.

    Args:
        issuer_url: the Credential Issuer Identifier, an ``https`` URL (``http`` only on
            loopback, for tests) where this service is reachable.
        open_issuer: opens the :class:`~blauweknop.Issuer`; called once per thread (the
            register's SQLite connection belongs to its thread).
        store: the protocol state (:meth:`for_home` uses a :class:`SQLiteProtocolStore` on
            the issuer's register file).
        clock: Unix-time source (tests inject one).
        batch_size: most credentials (keys) per request.
        offer_ttl: seconds an offer can be redeemed (default 24 h).
        token_ttl: seconds an access token lives (default 300).
        nonce_ttl: seconds a ``c_nonce`` lives (default 300).
        max_tx_code_attempts: wrong PINs before an offer locks.
        max_body: largest request body accepted (``request_too_large`` beyond).
        certificate_chain: DER certificates, leaf first, for ``signed_metadata`` (the leaf
            must certify the issuer's signing key).
        authenticator: the citizen's login for the authorization code grant.
        counsellor_key: enables the counsellor's pages under ``/counsellor`` (at least 16
            characters; sent as ``Authorization: Bearer`` or set as a cookie by the login form).
        models: the model class per ``vct`` the counsellor's form builds prepared claims with
            (default: the debt statement; ``rodeknop serve`` adds the declaration).
        dpop_nonces: require server-provided DPoP nonces (``use_dpop_nonce`` with a
            ``DPoP-Nonce`` header until the client's proof carries a fresh one).

    Example:
        >>> import tempfile, pathlib
        >>> from blauweknop import Issuer
        >>> home = pathlib.Path(tempfile.mkdtemp()) / "cjib"
        >>> _ = Issuer.init(home, issuer_id="urn:oin:00000001003214345000", name="CJIB")
        >>> svc = IssuerService.for_home(home, issuer_url="https://issuer.cjib.example")
        >>> sorted(svc.metadata()["credential_configurations_supported"])
        ['debt_statement_dc_sd_jwt', 'debt_statement_ldp_vc']
    """

    def __init__(
        self,
        *,
        issuer_url: str,
        open_issuer: Callable[[], Issuer],
        store: ProtocolStore,
        clock: Callable[[], float] = time.time,
        batch_size: int = 10,
        offer_ttl: int = 24 * 3600,
        token_ttl: int = 300,
        nonce_ttl: int = 300,
        max_tx_code_attempts: int = 5,
        max_body: int = 64 * 1024,
        certificate_chain: Sequence[bytes] | None = None,
        authenticator: Authenticator | None = None,
        counsellor_key: str | None = None,
        models: Mapping[str, type[CredentialModel]] | None = None,
        dpop_nonces: bool = False,
    ) -> None:
        p = urllib.parse.urlsplit(issuer_url)
        loopback = p.hostname in {"127.0.0.1", "localhost", "::1"}
        if p.scheme != "https" and not (p.scheme == "http" and loopback):
            raise InvalidDataError("invalid_data", "issuer_url must be https (http: loopback only)")
        if p.query or p.fragment:
            raise InvalidDataError("invalid_data", "issuer_url has no query or fragment")
        if not 1 <= batch_size <= 100:
            raise InvalidDataError("invalid_data", "batch_size must be 1..100")
        self.issuer_url = issuer_url.rstrip("/")
        self._open_issuer = open_issuer
        self._local = threading.local()
        self.store = store
        self._clock = clock
        self.batch_size = batch_size
        self.offer_ttl = offer_ttl
        self.token_ttl = token_ttl
        self.nonce_ttl = nonce_ttl
        self.max_tx_code_attempts = max_tx_code_attempts
        self.max_body = max_body
        self.certificate_chain = list(certificate_chain or [])
        self.authenticator = authenticator
        if counsellor_key is not None and len(counsellor_key) < 16:
            raise InvalidDataError("invalid_data", "counsellor_key must be at least 16 characters")
        self.counsellor_key = counsellor_key
        # Server DPoP nonces (RFC 9449 section 8), keyed per service instance: after a restart
        # a client is simply asked again.
        self._dpop_nonce_key = secrets.token_bytes(32) if dpop_nonces else None
        self.models: dict[str, type[CredentialModel]] = dict(models or {})
        if not self.models:
            from ..debt import DebtStatement

            self.models[DebtStatement.vct] = DebtStatement
        self._limits = Limits()

    @classmethod
    def for_home(
        cls,
        home: str | os.PathLike[str],
        *,
        issuer_url: str,
        **options: Any,
    ) -> IssuerService:
        """The service for an issuer home: issuer opened from ``home``, protocol state in its
        register file."""
        from .._issuer import Issuer

        h = Path(home)
        first = Issuer.open(h)  # fails early (home_not_found...) and migrates the register
        opened = threading.get_ident()

        def open_issuer() -> Issuer:
            if threading.get_ident() == opened:
                return first
            return Issuer.open(h)

        store = options.pop("store", None)
        if store is None:
            if first.config.get("register"):
                # The protocol state needs its own store on a shared register; until the
                # PostgreSQL ProtocolStore exists, refuse rather than keep it on one machine.
                raise PolicyError(
                    "register_backend_unsupported",
                    "the OpenID4VCI issuer service keeps its state in the home's SQLite "
                    "register; this home uses a PostgreSQL register (pass store=...)",
                )
            store = SQLiteProtocolStore(h / "register.sqlite")
        return cls(issuer_url=issuer_url, open_issuer=open_issuer, store=store, **options)

    # -- helpers ------------------------------------------------------------------------
    def _issuer(self) -> Issuer:
        iss: Issuer | None = getattr(self._local, "issuer", None)
        if iss is None:
            iss = self._open_issuer()
            self._local.issuer = iss
        return iss

    def _now(self) -> int:
        return int(self._clock())

    def configurations(self) -> dict[str, CredentialConfiguration]:
        """The credential configurations this issuer offers, by id."""
        return configurations_for(self._issuer().config["roles"])

    def metadata(self) -> dict[str, Any]:
        """The Credential Issuer Metadata (with ``signed_metadata`` when a certificate chain
        was given)."""
        iss = self._issuer()
        md = issuer_metadata(
            issuer_url=self.issuer_url,
            name=iss.name,
            configurations=self.configurations(),
            batch_size=self.batch_size,
        )
        if self.certificate_chain:
            md["signed_metadata"] = signed_metadata(
                md, signer=iss.signer, x5c=self.certificate_chain, now=self._now()
            )
        return md

    def authorization_server_metadata(self) -> dict[str, Any]:
        """RFC 8414 metadata (this service is its own authorization server)."""
        return authorization_server_metadata(
            self.issuer_url, authorization_code=self.authenticator is not None
        )

    # -- offers -------------------------------------------------------------------------
    def create_offer(
        self,
        data: CredentialModel,
        *,
        format: str = "sd-jwt",  # noqa: A002 (as Issuer.issue)
        tx_code: str | bool = True,
        by_reference: bool = False,
        scheme: str = "openid-credential-offer://",
        ttl: int | None = None,
        authorization_code: bool = False,
    ) -> CredentialOfferLink:
        """Offer ``data`` (a validated :class:`~blauweknop.debt.DebtStatement` or
        :class:`~rodeknop_vc.PaymentIncapacityDeclaration`) to a citizen's wallet.

        Runs every check :meth:`~blauweknop.Issuer.issue` runs (roles, issuer claims, dates)
        before storing anything. ``tx_code``: ``True`` makes a 6-digit PIN, a string sets
        it, ``False`` offers without PIN. ``by_reference``: the link carries a
        ``credential_offer_uri`` instead of the offer itself. ``authorization_code`` adds
        that grant with an ``issuer_state``.
        """
        now = self._now()
        profile = data.profile()
        option = {"sd-jwt": "dc+sd-jwt", "di": "ldp_vc"}.get(format)
        configuration = next(
            (
                c
                for c in self.configurations().values()
                if c.profile.vct == profile.vct and c.format == option
            ),
            None,
        )
        if configuration is None:
            raise InvalidDataError(
                "invalid_data", f"this issuer offers no {profile.vct} in format {format!r}"
            )
        issuer = self._issuer()
        issuer.check_issuable(data, holder_jwk=Key.generate().public_jwk(), format=format, now=now)
        credential_id = data.to_claims().get(profile.id_claim or "")
        if isinstance(credential_id, str) and _registered(issuer, credential_id):
            raise PolicyError(
                "credential_exists", f"{credential_id!r} was issued before: give it a new id"
            )
        if tx_code is True:
            pin: str | None = f"{secrets.randbelow(10**6):06d}"
        elif tx_code is False:
            pin = None
        else:
            pin = str(tx_code)
            if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 12):
                raise InvalidDataError("invalid_data", "tx_code must be 4 to 12 digits")
        offer_id = secrets.token_urlsafe(18)
        code = secrets.token_urlsafe(32)
        grant: dict[str, Any] = {"pre-authorized_code": code}
        if pin is not None:
            grant["tx_code"] = {
                "input_mode": "numeric",
                "length": len(pin),
                "description": "De pincode die uw schuldhulpverlener u gaf"
                " / the PIN your debt counsellor gave you",
            }
        grants: dict[str, Any] = {PRE_AUTH_GRANT: grant}
        issuer_state = None
        if authorization_code:
            issuer_state = secrets.token_urlsafe(24)
            grants["authorization_code"] = {"issuer_state": issuer_state}
        offer = {
            "credential_issuer": self.issuer_url,
            "credential_configuration_ids": [configuration.id],
            "grants": grants,
        }
        expires_at = now + (ttl or self.offer_ttl)
        self.store.create_offer(
            OfferRecord(
                offer_id=offer_id,
                code_hash=digest(code),
                configuration_id=configuration.id,
                payload=json.dumps(data.to_claims()),
                offer_json=json.dumps(offer),
                tx_code_hash=None if pin is None else tx_code_digest(offer_id, pin),
                max_attempts=self.max_tx_code_attempts,
                issuer_state=issuer_state,
                created_at=now,
                expires_at=expires_at,
            )
        )
        if by_reference:
            query = urllib.parse.urlencode(
                {"credential_offer_uri": f"{self.issuer_url}/offers/{offer_id}"}
            )
        else:
            query = urllib.parse.urlencode(
                {"credential_offer": json.dumps(offer, separators=(",", ":"))}
            )
        _log.info("oid4vci.offer_created", extra={"offer_id": offer_id, "cfg": configuration.id})
        return CredentialOfferLink(
            offer_id=offer_id,
            uri=f"{scheme}?{query}",
            offer=offer,
            tx_code=pin,
            expires_at=expires_at,
        )

    # -- HTTP -----------------------------------------------------------------------------
    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request. Never raises: errors become the spec's JSON error response
        (a ``server_error`` without details for anything unexpected)."""
        try:
            return self._route(request)
        except OAuthError as e:
            _log.info("oid4vci.refused", extra={"error": e.code, "path": request.path})
            headers = {**_NO_STORE, **e.headers}
            if e.www_authenticate or e.status == 401:
                scheme = e.www_authenticate or "DPoP"
                headers["WWW-Authenticate"] = f'{scheme} error="{e.code}"'
            return HttpResponse.json(e.to_json(), e.status, headers)
        except StorageError as e:
            _log.error("oid4vci.storage_error", extra={"error": e.code})
            return HttpResponse.json(
                {"error": "server_error", "error_description": "storage unavailable"},
                500,
                _NO_STORE,
            )
        except Exception:  # noqa: BLE001 (never a stack trace on the wire; logged here)
            _log.exception("oid4vci.internal_error")
            return HttpResponse.json({"error": "server_error"}, 500, _NO_STORE)

    def _route(self, r: HttpRequest) -> HttpResponse:
        if len(r.body) > self.max_body:
            raise OAuthError("request_too_large", f"body larger than {self.max_body} bytes")
        routes: dict[tuple[str, str], Callable[[HttpRequest], HttpResponse]] = {
            ("GET", "/.well-known/openid-credential-issuer"): lambda _: HttpResponse.json(
                self.metadata()
            ),
            ("GET", "/.well-known/oauth-authorization-server"): lambda _: HttpResponse.json(
                self.authorization_server_metadata()
            ),
            ("POST", "/token"): self._token,
            ("POST", "/nonce"): self._nonce,
            ("POST", "/credential"): self._credential,
            ("POST", "/notification"): self._notification,
            ("POST", "/par"): self._par,
            ("GET", "/authorize"): self._authorize,
        }
        handler = routes.get((r.method, r.path))
        if handler is not None:
            return handler(r)
        if r.path == "/counsellor" or r.path.startswith("/counsellor/"):
            return self._counsellor(r)
        if r.method == "GET" and r.path.startswith("/offers/"):
            return self._offer(r.path.removeprefix("/offers/"))
        if any(path == r.path for _, path in routes) or r.path.startswith("/offers/"):
            raise OAuthError("method_not_allowed", f"{r.method} not allowed on {r.path}")
        raise OAuthError("not_found", "no such endpoint")

    def _offer(self, offer_id: str) -> HttpResponse:
        text = self.store.offer_json(offer_id, self._now())
        if text is None:
            raise OAuthError("not_found", "no open offer with this id")
        return HttpResponse(
            status=200,
            body=text.encode(),
            headers={"Content-Type": "application/json", **_NO_STORE},
        )

    # -- request parsing ------------------------------------------------------------------
    def _form(self, r: HttpRequest) -> dict[str, str]:
        ctype = (r.header("content-type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise OAuthError(
                "invalid_request", "the body must be application/x-www-form-urlencoded"
            )
        try:
            pairs = urllib.parse.parse_qsl(
                r.body.decode("ascii"), keep_blank_values=True, strict_parsing=bool(r.body)
            )
        except (UnicodeDecodeError, ValueError) as e:
            raise OAuthError("invalid_request", "malformed form body") from e
        out: dict[str, str] = {}
        for k, v in pairs:
            if k in out:
                raise OAuthError("invalid_request", f"parameter {k} repeated")
            out[k] = v
        return out

    def _json(self, r: HttpRequest, error: str) -> dict[str, Any]:
        ctype = (r.header("content-type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise OAuthError(error, "the body must be application/json")
        try:
            return parse_json_object(r.body, limits=self._limits, what="request body")
        except BlauweKnopError as e:
            raise OAuthError(error, f"malformed JSON: {e.message}") from e

    def _dpop(self, r: HttpRequest, access_token: str | None = None) -> str:
        """Check the request's DPoP proof and its jti's first use; returns the key's jkt."""
        now = self._now()
        proof = verify_dpop(
            r.header("dpop"), method=r.method, url=r.url, now=now, access_token=access_token
        )
        if self._dpop_nonce_key is not None and not self._dpop_nonce_ok(
            proof.claims.get("nonce"), now
        ):
            # RFC 9449 section 8: the server asks for its nonce; the client retries with it.
            raise OAuthError(
                "use_dpop_nonce",
                "a fresh DPoP-Nonce is required",
                status=401 if access_token is not None else 400,
                www_authenticate="DPoP" if access_token is not None else None,
                headers={"DPoP-Nonce": self._new_dpop_nonce(now)},
            )
        jkt = proof.key.kid
        self.store.remember_dpop_jti(jkt, str(proof.claims["jti"]), now=now, expires_at=now + 400)
        return jkt

    def _new_dpop_nonce(self, now: int) -> str:
        """A server DPoP nonce: its issue time and an HMAC over it (stateless, 300 s)."""
        assert self._dpop_nonce_key is not None
        stamp = now.to_bytes(8, "big")
        mac = hmac.new(self._dpop_nonce_key, stamp, hashlib.sha256).digest()[:16]
        return b64u_encode(stamp + mac)

    def _dpop_nonce_ok(self, nonce: object, now: int) -> bool:
        assert self._dpop_nonce_key is not None
        if not isinstance(nonce, str) or len(nonce) != 32:
            return False
        try:
            raw = b64u_decode(nonce)
        except BlauweKnopError:
            return False
        stamp, mac = raw[:8], raw[8:]
        good = hmac.new(self._dpop_nonce_key, stamp, hashlib.sha256).digest()[:16]
        issued = int.from_bytes(stamp, "big")
        return hmac.compare_digest(mac, good) and now - 300 <= issued <= now + 60

    # -- token ----------------------------------------------------------------------------
    def _token(self, r: HttpRequest) -> HttpResponse:
        form = self._form(r)
        grant_type = form.get("grant_type")
        if grant_type not in (PRE_AUTH_GRANT, "authorization_code"):
            raise OAuthError("unsupported_grant_type", "unsupported grant_type")
        if r.header("dpop") is None:
            raise OAuthError("invalid_dpop_proof", "the token endpoint requires DPoP")
        jkt = self._dpop(r)
        now = self._now()
        token = secrets.token_urlsafe(32)
        if grant_type == PRE_AUTH_GRANT:
            code = form.get("pre-authorized_code")
            if not code:
                raise OAuthError("invalid_request", "pre-authorized_code is missing")
            offer_id = self.store.redeem_pre_authorized_code(
                digest(code),
                form.get("tx_code"),
                token_hash=digest(token),
                jkt=jkt,
                now=now,
                token_expires_at=now + self.token_ttl,
            )
        else:
            offer_id = self._redeem_authorization_code(form, digest(token), jkt, now)
        _log.info("oid4vci.token_issued", extra={"offer_id": offer_id})
        return HttpResponse.json(
            {"access_token": token, "token_type": "DPoP", "expires_in": self.token_ttl},
            headers=_NO_STORE,
        )

    # -- nonce -------------------------------------------------------------------------
    def _nonce(self, r: HttpRequest) -> HttpResponse:
        now = self._now()
        nonce = secrets.token_urlsafe(24)
        self.store.create_nonce(nonce, now=now, expires_at=now + self.nonce_ttl)
        return HttpResponse.json({"c_nonce": nonce}, headers=_NO_STORE)

    # -- access token -------------------------------------------------------------------
    def _access(self, r: HttpRequest) -> tuple[str, str]:
        """The request's DPoP-bound access token: ``(token, offer_id)``."""
        auth = r.header("authorization")
        if not auth:
            raise OAuthError("invalid_token", "no access token")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "dpop" or not token:
            raise OAuthError("invalid_token", "the access token is DPoP-bound: use the DPoP scheme")
        record = self.store.token(digest(token))
        if record is None or record.expires_at <= self._now():
            raise OAuthError("invalid_token", "access token unknown or expired")
        if r.header("dpop") is None:
            raise OAuthError("invalid_dpop_proof", "DPoP proof missing", status=401)
        try:
            jkt = self._dpop(r, access_token=token)
        except OAuthError as e:
            raise OAuthError(
                e.code, e.message, status=401, www_authenticate="DPoP", headers=e.headers
            ) from e
        if jkt != record.jkt:
            raise OAuthError("invalid_dpop_proof", "DPoP key is not the token's key", status=401)
        return token, record.offer_id

    # -- credential ------------------------------------------------------------------------
    def _credential(self, r: HttpRequest) -> HttpResponse:
        token, offer_id = self._access(r)
        body = self._json(r, "invalid_credential_request")
        cfg_id = body.get("credential_configuration_id")
        if "credential_identifier" in body:
            if cfg_id is not None:
                raise OAuthError(
                    "invalid_credential_request",
                    "credential_identifier and credential_configuration_id together",
                )
            raise OAuthError("unknown_credential_identifier", "no credential identifiers issued")
        if not isinstance(cfg_id, str):
            raise OAuthError("invalid_credential_request", "credential_configuration_id missing")
        configurations = self.configurations()
        configuration = configurations.get(cfg_id)
        if configuration is None:
            raise OAuthError("unknown_credential_configuration", "unknown credential configuration")
        if "credential_response_encryption" in body:
            raise OAuthError("invalid_encryption_parameters", "encrypted responses not supported")
        proofs = body.get("proofs")
        if not isinstance(proofs, dict) or list(proofs) != ["jwt"]:
            raise OAuthError("invalid_proof", "proofs must hold exactly the jwt proof type")
        jwts = proofs["jwt"]
        if not isinstance(jwts, list) or not jwts:
            raise OAuthError("invalid_proof", "proofs.jwt must be a non-empty array")
        if len(jwts) > self.batch_size:
            raise OAuthError(
                "invalid_credential_request", f"more than batch_size {self.batch_size} proofs"
            )
        now = self._now()
        keys: list[Key] = []
        nonces: set[str] = set()
        for jwt in jwts:
            proof, nonce = verify_key_proof(jwt, audience=self.issuer_url, now=now)
            if proof.key in keys:
                raise OAuthError("invalid_proof", "the same key twice in one batch")
            keys.append(proof.key)
            nonces.add(nonce)
        if len(nonces) != 1:
            raise OAuthError("invalid_nonce", "the proofs of one request share one c_nonce")
        token_hash = digest(token)
        record = self.store.token(token_hash)
        if record is not None and record.used:
            raise OAuthError("invalid_token", "the access token was used before")
        if record is not None and record.configuration_id != cfg_id:
            raise OAuthError("insufficient_scope", "the token does not cover this configuration")
        offered_cfg, payload = self.store.claim_issuance(token_hash, nonces.pop(), now=now)
        if offered_cfg != cfg_id:  # the same check, inside the transaction that used the token
            self.store.release_issuance(token_hash)
            raise OAuthError("insufficient_scope", "the token does not cover this configuration")
        try:
            issued = self._issue(configuration, payload, keys, now)
        except BlauweKnopError as e:
            self.store.release_issuance(token_hash)
            _log.warning("oid4vci.issuance_refused", extra={"error": e.code})
            raise OAuthError(
                "credential_request_denied", "the issuer cannot issue this credential"
            ) from e
        notification_id = secrets.token_urlsafe(16)
        self.store.finish_issuance(
            offer_id, notification_id, [c.credential_id for c in issued], now=now
        )
        _log.info("oid4vci.credential_issued", extra={"cfg": cfg_id, "count": len(issued)})
        credentials = [
            {"credential": json.loads(c.text) if configuration.format == "ldp_vc" else c.text}
            for c in issued
        ]
        return HttpResponse.json(
            {"credentials": credentials, "notification_id": notification_id}, headers=_NO_STORE
        )

    def _issue(
        self, configuration: CredentialConfiguration, payload: str, keys: list[Key], now: int
    ) -> list[Any]:
        claims = json.loads(payload)
        configuration.profile.validate(claims)  # validated at offer time; the row could be edited
        data = _PreparedCredential(configuration.profile, claims)
        issuer = self._issuer()
        jwks = [k.public_jwk() for k in keys]
        if len(jwks) == 1:
            return [issuer.issue(data, holder_jwk=jwks[0], format=configuration.option, now=now)]
        return issuer.issue_copies(data, holder_jwks=jwks, format=configuration.option, now=now)

    # -- notification ---------------------------------------------------------------------
    def _notification(self, r: HttpRequest) -> HttpResponse:
        _, offer_id = self._access(r)
        body = self._json(r, "invalid_notification_request")
        nid, event = body.get("notification_id"), body.get("event")
        if not isinstance(nid, str) or event not in _EVENTS:
            raise OAuthError("invalid_notification_request", "notification_id and a known event")
        self.store.notify(nid, offer_id, str(event), now=self._now())
        _log.info("oid4vci.notification", extra={"event": event})
        return HttpResponse(status=204, body=b"", headers=_NO_STORE)

    # -- authorization code grant (PAR + PKCE) ----------------------------------------------
    def _counsellor_ok(self, r: HttpRequest) -> bool:
        key = self.counsellor_key
        assert key is not None
        auth = r.header("authorization") or ""
        if auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].encode(), key.encode()):
            return True
        for value in r.headers.get("cookie", ()):
            for part in value.split(";"):
                name, _, got = part.strip().partition("=")
                if name == _COOKIE and hmac.compare_digest(got.encode(), key.encode()):
                    return True
        return False

    def _counsellor(self, r: HttpRequest) -> HttpResponse:
        """The counsellor's pages (``/counsellor``): login, the offer form, the hand-off page
        and its status poll."""
        from . import _counsellor as page

        if self.counsellor_key is None:
            raise OAuthError("not_found", "no such endpoint")
        nonce = page.new_nonce()
        if r.path == "/counsellor/login" and r.method == "POST":
            form = self._form(r)
            if not hmac.compare_digest(form.get("key", "").encode(), self.counsellor_key.encode()):
                return HttpResponse.html(
                    page.login_page(nonce, "Onjuiste sleutel / wrong key"), page.csp(nonce), 403
                )
            secure = "; Secure" if self.issuer_url.startswith("https://") else ""
            return HttpResponse(
                status=303,
                body=b"",
                headers={
                    "Location": f"{self.issuer_url}/counsellor",
                    "Set-Cookie": f"{_COOKIE}={self.counsellor_key}; HttpOnly; SameSite=Strict;"
                    f" Path=/counsellor{secure}",
                    **_NO_STORE,
                },
            )
        if not self._counsellor_ok(r):
            if r.method == "GET" and r.path == "/counsellor":
                return HttpResponse.html(page.login_page(nonce), page.csp(nonce), 401)
            raise OAuthError("invalid_token", "counsellor key required", www_authenticate="Bearer")
        configurations = [
            (cid, f"{c.profile.name} ({c.format})")
            for cid, c in sorted(self.configurations().items())
            if c.profile.vct in self.models
        ]
        name = self._issuer().name
        if r.path == "/counsellor" and r.method == "GET":
            return HttpResponse.html(page.form_page(name, configurations, nonce), page.csp(nonce))
        if r.path == "/counsellor/offers" and r.method == "POST":
            form = self._form(r)
            try:
                configuration = self.configurations()[form.get("configuration", "")]
                model = self.models[configuration.profile.vct]
                claims = parse_json_object(
                    form.get("claims", "").encode("utf-8"), limits=self._limits, what="claims"
                )
                link = self.create_offer(
                    model.from_claims(claims),
                    format=configuration.option,
                    tx_code=form.get("pin") == "1",
                )
            except KeyError:
                return HttpResponse.html(
                    page.form_page(name, configurations, nonce, "Onbekende soort / unknown type"),
                    page.csp(nonce),
                    400,
                )
            except BlauweKnopError as e:
                return HttpResponse.html(
                    page.form_page(name, configurations, nonce, f"{e.code}: {e.message}"),
                    page.csp(nonce),
                    400,
                )
            import datetime as dt

            expires = dt.datetime.fromtimestamp(link.expires_at, dt.UTC).strftime(
                "%Y-%m-%d %H:%M UTC"
            )
            return HttpResponse.html(
                page.offer_page(
                    issuer_name=name,
                    title=configuration.profile.name,
                    uri=link.uri,
                    qr_svg=link.qr_svg(),
                    tx_code=link.tx_code,
                    expires=expires,
                    status_url=f"/counsellor/offers/{link.offer_id}/status",
                    nonce=nonce,
                ),
                page.csp(nonce),
            )
        parts = r.path.split("/")
        if r.method == "GET" and len(parts) == 5 and parts[2] == "offers" and parts[4] == "status":
            state = self.store.offer_state(parts[3])
            if state is None:
                raise OAuthError("not_found", "no such offer")
            return HttpResponse.json({"state": state}, headers=_NO_STORE)
        raise OAuthError("not_found", "no such page")

    def _par(self, r: HttpRequest) -> HttpResponse:
        """RFC 9126: store the authorization request, answer its ``request_uri``."""
        if self.authenticator is None:
            raise OAuthError("invalid_request", "the authorization code grant is not enabled")
        form = self._form(r)
        if "request_uri" in form:
            raise OAuthError("invalid_request", "request_uri may not be pushed")
        if form.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "response_type must be code")
        for name in ("client_id", "redirect_uri", "code_challenge"):
            if not form.get(name):
                raise OAuthError("invalid_request", f"{name} is missing")
        # HAIP / RFC 9700: PKCE with S256 only; "plain" (or none) is refused.
        if form.get("code_challenge_method") != "S256":
            raise OAuthError("invalid_request", "code_challenge_method must be S256")
        if not _PKCE_RE.fullmatch(form["code_challenge"]):
            raise OAuthError("invalid_request", "code_challenge is not a base64url SHA-256")
        redirect = urllib.parse.urlsplit(form["redirect_uri"])
        if not redirect.scheme or redirect.fragment:
            raise OAuthError("invalid_request", "redirect_uri must be absolute, no fragment")
        scope = form.get("scope")
        if scope is not None and not set(scope.split()) <= set(self.configurations()):
            raise OAuthError("invalid_scope", "unknown scope")
        now = self._now()
        request_uri = "urn:ietf:params:oauth:request_uri:" + secrets.token_urlsafe(24)
        self.store.create_par(
            request_uri, form["client_id"], dict(form), now=now, expires_at=now + _PAR_TTL
        )
        return HttpResponse.json(
            {"request_uri": request_uri, "expires_in": _PAR_TTL}, 201, _NO_STORE
        )

    def _authorize(self, r: HttpRequest) -> HttpResponse:
        """The authorization endpoint: only pushed requests; the authenticator logs the
        citizen in and names the offer (``issuer_state``); answers a redirect with the code."""
        if self.authenticator is None:
            raise OAuthError("invalid_request", "the authorization code grant is not enabled")
        try:
            pairs = urllib.parse.parse_qsl(r.query, strict_parsing=bool(r.query))
        except ValueError as e:
            raise OAuthError("invalid_request", "malformed query") from e
        query = dict(pairs)
        if len(query) != len(pairs):
            raise OAuthError("invalid_request", "query parameter repeated")
        request_uri, client_id = query.get("request_uri"), query.get("client_id")
        if not request_uri or not client_id:
            raise OAuthError("invalid_request", "request_uri and client_id are required (PAR)")
        now = self._now()
        pushed_client, params = self.store.take_par(request_uri, now=now)
        if pushed_client != client_id:
            raise OAuthError("invalid_request", "client_id differs from the pushed request")
        redirect_uri = str(params["redirect_uri"])
        state = params.get("state")
        try:
            issuer_state = self.authenticator(r, params)
            if params.get("issuer_state") not in (None, issuer_state):
                raise OAuthError("access_denied", "the citizen may not redeem this offer")
            offer_id = self.store.offer_for_issuer_state(issuer_state, now=now)
        except OAuthError as e:
            # Errors after the client is known go back to it (RFC 6749 section 4.1.2.1).
            return _redirect(
                redirect_uri,
                {
                    "error": "access_denied" if e.code != "access_denied" else e.code,
                    "state": state,
                    "iss": self.issuer_url,
                },
            )
        code = secrets.token_urlsafe(32)
        self.store.create_auth_code(
            digest(code),
            client_id=client_id,
            offer_id=offer_id,
            redirect_uri=redirect_uri,
            code_challenge=str(params["code_challenge"]),
            now=now,
            expires_at=now + _CODE_TTL,
        )
        # RFC 9207: the authorization server names itself in the response.
        return _redirect(redirect_uri, {"code": code, "state": state, "iss": self.issuer_url})

    def _redeem_authorization_code(
        self, form: Mapping[str, str], token_hash: str, jkt: str, now: int
    ) -> str:
        if self.authenticator is None:
            raise OAuthError(
                "unsupported_grant_type", "the authorization code grant is not enabled"
            )
        code, verifier = form.get("code"), form.get("code_verifier")
        if not code or not form.get("redirect_uri") or not form.get("client_id"):
            raise OAuthError("invalid_request", "code, redirect_uri and client_id are required")
        if not verifier or not _VERIFIER_RE.fullmatch(verifier):
            raise OAuthError("invalid_grant", "code_verifier missing or malformed")
        challenge = b64u_encode(hashlib.sha256(verifier.encode("ascii")).digest())

        def check(client_id: str, redirect_uri: str, code_challenge: str) -> None:
            if client_id != form["client_id"] or redirect_uri != form["redirect_uri"]:
                raise OAuthError("invalid_grant", "client_id or redirect_uri differ")
            if not hmac.compare_digest(challenge, code_challenge):
                raise OAuthError("invalid_grant", "PKCE code_verifier does not match")

        return self.store.redeem_auth_code(
            digest(code),
            token_hash=token_hash,
            jkt=jkt,
            now=now,
            token_expires_at=now + self.token_ttl,
            check=check,
        )


def _redirect(uri: str, params: Mapping[str, Any]) -> HttpResponse:
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    sep = "&" if urllib.parse.urlsplit(uri).query else "?"
    return HttpResponse(
        status=302, body=b"", headers={"Location": f"{uri}{sep}{query}", **_NO_STORE}
    )


def _registered(issuer: Issuer, credential_id: str) -> bool:
    """Whether the register holds ``credential_id`` (or its first single-use copy)."""
    for cid in (credential_id, f"{credential_id}~copy1"):
        try:
            issuer.register.get(cid)
        except PolicyError:
            continue
        return True
    return False
