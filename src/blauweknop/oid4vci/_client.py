"""The wallet side of OpenID4VCI 1.0: resolve an offer link, check the issuer's metadata,
run the pre-authorized code grant with DPoP, prove possession of the holder key(s) and store
what arrives, verified as :meth:`blauweknop.Wallet.add` verifies every credential.

The HTTP client is an ``httpx.Client`` the caller may hand in (tests use loopback); nothing
here reaches the network otherwise.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from .._codec import b64u_encode, parse_json_object
from .._errors import BlauweKnopError
from .._keys import Key
from ._errors import OAuthError
from ._metadata import well_known_url
from ._proofs import make_dpop, make_key_proof
from ._service import PRE_AUTH_GRANT

if TYPE_CHECKING:
    from .._trust import TrustList
    from .._wallet import ImportResult, Wallet
    from ..formats import StatusSource

__all__ = ["OFFER_SCHEMES", "parse_offer_link", "receive_offer"]

OFFER_SCHEMES: tuple[str, ...] = ("openid-credential-offer", "haip", "haip-vci")
"""Link schemes a credential offer may come in (plus ``https`` links with the same query)."""
_MAX_RESPONSE = 1024 * 1024
#: The wallet's OAuth client id and redirect URI for the authorization code grant.
DEFAULT_CLIENT_ID = "blauweknop-wallet"
DEFAULT_REDIRECT_URI = "https://wallet.blauweknop.invalid/callback"
_FORMATS = frozenset({"dc+sd-jwt", "ldp_vc"})


def _url_ok(url: object) -> bool:
    if not isinstance(url, str):
        return False
    p = urllib.parse.urlsplit(url)
    loopback = p.hostname in {"127.0.0.1", "localhost", "::1"}
    return bool(p.netloc) and (p.scheme == "https" or (p.scheme == "http" and loopback))


def parse_offer_link(link: str) -> tuple[dict[str, Any] | None, str | None]:
    """Split an offer link into ``(offer, None)`` (by value) or ``(None, offer_uri)`` (by
    reference). Accepts ``openid-credential-offer://``, ``haip://``, ``haip-vci://`` and
    ``https`` links; raises :class:`OAuthError` ``offer_malformed``.

    Example:
        >>> parse_offer_link("haip-vci://?credential_offer_uri=https%3A%2F%2Fi.example%2Fo%2F1")
        (None, 'https://i.example/o/1')
    """
    if not isinstance(link, str) or len(link) > 16 * 1024:
        raise OAuthError("offer_malformed", "the offer link must be a string up to 16 KiB")
    p = urllib.parse.urlsplit(link.strip())
    if p.scheme not in OFFER_SCHEMES and p.scheme != "https":
        raise OAuthError("offer_malformed", f"unknown offer link scheme {p.scheme!r}")
    try:
        pairs = urllib.parse.parse_qsl(p.query, strict_parsing=True)
    except ValueError as e:
        raise OAuthError("offer_malformed", "the offer link's query is malformed") from e
    params: dict[str, str] = {}
    for k, v in pairs:
        if k in params:
            raise OAuthError("offer_malformed", f"offer parameter {k} repeated")
        params[k] = v
    by_value, by_ref = params.get("credential_offer"), params.get("credential_offer_uri")
    if (by_value is None) == (by_ref is None):
        raise OAuthError(
            "offer_malformed", "exactly one of credential_offer and credential_offer_uri"
        )
    if by_ref is not None:
        if not _url_ok(by_ref):
            raise OAuthError("offer_malformed", "credential_offer_uri must be https")
        return None, by_ref
    try:
        offer = parse_json_object(str(by_value), what="credential offer")
    except BlauweKnopError as e:
        raise OAuthError("offer_malformed", e.message) from e
    return offer, None


class _Session:
    """One issuance conversation: the HTTP client, the DPoP key, the clock."""

    def __init__(self, http: httpx.Client, clock: Callable[[], float]) -> None:
        self.http = http
        self.clock = clock
        self.dpop_key = Key.generate("ES256")
        self.dpop_nonce: str | None = None

    def now(self) -> int:
        return int(self.clock())

    def _read(self, response: httpx.Response, what: str) -> Any:
        if len(response.content) > _MAX_RESPONSE:
            raise OAuthError("issuer_response_invalid", f"{what}: response too large")
        nonce = response.headers.get("dpop-nonce")
        if nonce:
            self.dpop_nonce = nonce
        if response.status_code >= 400:
            try:
                body = parse_json_object(response.content, what=what)
                code = body.get("error")
            except BlauweKnopError:
                code = None
            if not isinstance(code, str) or not code.isascii():
                code = "issuer_response_invalid"
            desc = ""
            if code != "issuer_response_invalid":
                desc = str(body.get("error_description", ""))[:300]
            raise OAuthError(
                code,
                f"{what}: HTTP {response.status_code} {desc}".strip(),
                status=response.status_code,
            )
        if response.status_code == 204:
            return None
        try:
            return parse_json_object(response.content, what=what)
        except BlauweKnopError as e:
            raise OAuthError("issuer_response_invalid", f"{what}: {e.message}") from e

    def get(self, url: str, what: str) -> Any:
        try:
            r = self.http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as e:
            raise OAuthError("issuer_unreachable", f"{what}: {type(e).__name__}") from e
        return self._read(r, what)

    def post(
        self,
        url: str,
        what: str,
        *,
        token: str | None = None,
        form: Mapping[str, str] | None = None,
        body: Any = None,
        dpop: bool = True,
    ) -> Any:
        for attempt in range(2):
            headers = {"Accept": "application/json"}
            if dpop:
                headers["DPoP"] = make_dpop(
                    self.dpop_key,
                    method="POST",
                    url=url,
                    now=self.now(),
                    access_token=token,
                    nonce=self.dpop_nonce,
                )
            if token is not None:
                headers["Authorization"] = f"DPoP {token}"
            try:
                if form is not None:
                    r = self.http.post(url, data=dict(form), headers=headers)
                elif body is not None:
                    r = self.http.post(
                        url,
                        content=json.dumps(body).encode(),
                        headers={**headers, "Content-Type": "application/json"},
                    )
                else:
                    r = self.http.post(url, headers=headers)
            except httpx.HTTPError as e:
                raise OAuthError("issuer_unreachable", f"{what}: {type(e).__name__}") from e
            try:
                return self._read(r, what)
            except OAuthError as e:
                # RFC 9449 section 8: the server asks for its nonce; retry once with it.
                if e.code == "use_dpop_nonce" and attempt == 0 and self.dpop_nonce:
                    continue
                raise
        raise OAuthError("issuer_response_invalid", f"{what}: no answer")  # pragma: no cover


def _check_offer(offer: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    issuer = offer.get("credential_issuer")
    ids = offer.get("credential_configuration_ids")
    grants = offer.get("grants")
    if not _url_ok(issuer):
        raise OAuthError("offer_malformed", "credential_issuer must be an https URL")
    if not (isinstance(ids, list) and ids and all(isinstance(i, str) for i in ids)):
        raise OAuthError("offer_malformed", "credential_configuration_ids must list strings")
    if not isinstance(grants, dict) or not grants:
        raise OAuthError("offer_malformed", "the offer names no grant")
    pre = grants.get(PRE_AUTH_GRANT)
    if pre is not None and not (
        isinstance(pre, dict) and isinstance(pre.get("pre-authorized_code"), str)
    ):
        raise OAuthError("offer_malformed", "pre-authorized_code missing")
    code = grants.get("authorization_code")
    if code is not None and not isinstance(code, dict):
        raise OAuthError("offer_malformed", "authorization_code grant must be an object")
    if pre is None and code is None:
        raise OAuthError("offer_malformed", "the offer names no supported grant")
    return str(issuer), str(ids[0]), grants


def receive_offer(
    wallet: Wallet,
    offer: str | Mapping[str, Any],
    *,
    trust_list: TrustList,
    tx_code: str | None = None,
    copies: int = 1,
    http: httpx.Client | None = None,
    status: StatusSource | None = None,
    now: float | None = None,
    authorize: Callable[[str], str] | None = None,
    client_id: str = DEFAULT_CLIENT_ID,
    redirect_uri: str = DEFAULT_REDIRECT_URI,
) -> list[ImportResult]:
    """Receive the credential(s) of an OpenID4VCI offer into ``wallet``.

    ``offer`` is the link (``openid-credential-offer://``, ``haip://``, ``haip-vci://``,
    https) or the offer object. ``tx_code`` is the PIN the citizen was given. ``copies`` > 1
    asks for a batch of single-use copies, each bound to a fresh holder key. Every credential
    is verified against ``trust_list`` before it is stored (as :meth:`Wallet.add`); the
    issuer is told ``credential_accepted`` or ``credential_failure``.

    Raises :class:`OAuthError` with the issuer's error code (``invalid_grant`` for a wrong
    PIN...) or the wallet's own (``offer_malformed``, ``metadata_invalid``,
    ``issuer_unreachable``, ``issuer_response_invalid``, ``tx_code_required``), and
    whatever :meth:`Wallet.add` raises for a credential that does not verify. ``now``
    fixes the clock (proof ``iat``, verification), as in :meth:`Wallet.add`.

    An offer with only the authorization code grant (or any offer, when ``authorize`` is
    given and the offer has that grant) runs PAR + PKCE S256: ``authorize(url)`` opens the
    authorization URL for the citizen's login (a browser, an in-app tab) and returns the URL
    the issuer redirected to (``redirect_uri`` with ``code``, ``state`` and ``iss``).
    """
    clock: Callable[[], float] = time.time if now is None else (lambda: now)
    own = http is None
    client = http or httpx.Client(timeout=30.0, follow_redirects=False)
    try:
        return _receive(
            wallet,
            offer,
            trust_list=trust_list,
            tx_code=tx_code,
            copies=copies,
            session=_Session(client, clock),
            status=status,
            authorize=authorize,
            client=(client_id, redirect_uri),
        )
    finally:
        if own:
            client.close()


def _receive(
    wallet: Wallet,
    offer: str | Mapping[str, Any],
    *,
    trust_list: TrustList,
    tx_code: str | None,
    copies: int,
    session: _Session,
    status: StatusSource | None,
    authorize: Callable[[str], str] | None,
    client: tuple[str, str],
) -> list[ImportResult]:
    if isinstance(offer, str):
        by_value, by_ref = parse_offer_link(offer)
        if by_ref is not None:
            by_value = session.get(by_ref, "credential offer")
        assert by_value is not None
        offer = by_value
    issuer, cfg_id, grants = _check_offer(offer)
    md = session.get(well_known_url(issuer, "openid-credential-issuer"), "issuer metadata")
    if md.get("credential_issuer") != issuer:
        raise OAuthError("metadata_invalid", "metadata credential_issuer differs from the offer")
    configs = md.get("credential_configurations_supported")
    cfg = configs.get(cfg_id) if isinstance(configs, dict) else None
    if not isinstance(cfg, dict) or cfg.get("format") not in _FORMATS:
        raise OAuthError("metadata_invalid", f"configuration {cfg_id!r} missing or unsupported")
    algs = (
        (cfg.get("proof_types_supported") or {})
        .get("jwt", {})
        .get("proof_signing_alg_values_supported", [])
    )
    if "ES256" not in algs:
        raise OAuthError("metadata_invalid", "the issuer accepts no ES256 jwt proofs")
    batch = (md.get("batch_credential_issuance") or {}).get("batch_size", 1)
    if not 1 <= copies <= (batch if isinstance(batch, int) else 1):
        raise OAuthError("invalid_credential_request", f"copies must be 1..{batch}")
    endpoints = {
        k: md.get(k) for k in ("credential_endpoint", "nonce_endpoint", "notification_endpoint")
    }
    if not _url_ok(endpoints["credential_endpoint"]):
        raise OAuthError("metadata_invalid", "credential_endpoint must be https")
    servers = md.get("authorization_servers") or [issuer]
    if not isinstance(servers, list) or not _url_ok(servers[0]):
        raise OAuthError("metadata_invalid", "authorization_servers must list https URLs")
    as_md = session.get(
        well_known_url(servers[0], "oauth-authorization-server"), "authorization server metadata"
    )
    if as_md.get("issuer") != servers[0] or not _url_ok(as_md.get("token_endpoint")):
        raise OAuthError("metadata_invalid", "authorization server metadata does not match")

    use_code = "authorization_code" in grants and (
        authorize is not None or PRE_AUTH_GRANT not in grants
    )
    if use_code:
        if authorize is None:
            raise OAuthError("authorization_required", "this offer needs the citizen's login")
        form = _authorization_code(
            session, as_md, cfg, grants["authorization_code"], authorize, client
        )
    else:
        grant = grants[PRE_AUTH_GRANT]
        form = {"grant_type": PRE_AUTH_GRANT, "pre-authorized_code": grant["pre-authorized_code"]}
        if grant.get("tx_code") is not None:
            if tx_code is None:
                raise OAuthError("tx_code_required", "this offer needs the PIN (tx_code)")
            form["tx_code"] = tx_code
    tok = session.post(str(as_md["token_endpoint"]), "token", form=form)
    access = tok.get("access_token")
    if not isinstance(access, str) or str(tok.get("token_type", "")).lower() != "dpop":
        raise OAuthError("issuer_response_invalid", "the token response has no DPoP token")

    nonce = None
    if _url_ok(endpoints["nonce_endpoint"]):
        got = session.post(str(endpoints["nonce_endpoint"]), "nonce", dpop=False)
        nonce = got.get("c_nonce")
        if not isinstance(nonce, str):
            raise OAuthError("issuer_response_invalid", "the nonce response has no c_nonce")
    if copies == 1:
        keys = [wallet.holder_key()]
    else:
        keys = [wallet.holder_key(j["kid"]) for j in wallet.new_holder_keys(copies)]
    proofs = [
        make_key_proof(k, audience=issuer, nonce=nonce or "", now=session.now()) for k in keys
    ]
    answer = session.post(
        str(endpoints["credential_endpoint"]),
        "credential",
        token=access,
        body={"credential_configuration_id": cfg_id, "proofs": {"jwt": proofs}},
    )
    creds = answer.get("credentials")
    if not isinstance(creds, list) or not creds or len(creds) > len(keys):
        raise OAuthError("issuer_response_invalid", "the credential response has no credentials")
    results: list[ImportResult] = []
    notification_id = answer.get("notification_id")
    try:
        for item in creds:
            if not isinstance(item, dict) or "credential" not in item:
                raise OAuthError("issuer_response_invalid", "a credentials entry is malformed")
            results.append(
                wallet.add(
                    item["credential"], trust_list=trust_list, status=status, now=session.clock()
                )
            )
    except BlauweKnopError:
        _notify(
            session,
            endpoints["notification_endpoint"],
            access,
            notification_id,
            "credential_failure",
        )
        raise
    _notify(
        session, endpoints["notification_endpoint"], access, notification_id, "credential_accepted"
    )
    return results


def _notify(session: _Session, endpoint: object, token: str, nid: object, event: str) -> None:
    if not _url_ok(endpoint) or not isinstance(nid, str):
        return
    # A notification is advisory (OpenID4VCI section 11): the credentials are stored already.
    with contextlib.suppress(OAuthError):
        session.post(
            str(endpoint),
            "notification",
            token=token,
            body={"notification_id": nid, "event": event},
        )


def _authorization_code(
    session: _Session,
    as_md: Mapping[str, Any],
    cfg: Mapping[str, Any],
    grant: Mapping[str, Any],
    authorize: Callable[[str], str],
    client: tuple[str, str],
) -> dict[str, str]:
    """PAR (RFC 9126) with PKCE S256, the citizen's login through ``authorize``, and the token
    request form for the code that comes back."""
    client_id, redirect_uri = client
    par, endpoint = (
        as_md.get("pushed_authorization_request_endpoint"),
        as_md.get("authorization_endpoint"),
    )
    if not _url_ok(par) or not _url_ok(endpoint):
        raise OAuthError("metadata_invalid", "no PAR or authorization endpoint")
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(16)
    pushed = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "code_challenge": b64u_encode(hashlib.sha256(verifier.encode("ascii")).digest()),
        "code_challenge_method": "S256",
        "state": state,
    }
    if isinstance(cfg.get("scope"), str):
        pushed["scope"] = str(cfg["scope"])
    if isinstance(grant.get("issuer_state"), str):
        pushed["issuer_state"] = str(grant["issuer_state"])
    got = session.post(str(par), "pushed authorization request", form=pushed, dpop=False)
    request_uri = got.get("request_uri")
    if not isinstance(request_uri, str):
        raise OAuthError("issuer_response_invalid", "the PAR response has no request_uri")
    query = urllib.parse.urlencode({"client_id": client_id, "request_uri": request_uri})
    back = urllib.parse.urlsplit(authorize(f"{endpoint}?{query}"))
    params = dict(urllib.parse.parse_qsl(back.query))
    if params.get("state") != state:
        raise OAuthError("issuer_response_invalid", "the authorization response state differs")
    if "iss" in params and params["iss"] != as_md.get("issuer"):
        raise OAuthError("issuer_response_invalid", "the authorization response iss differs")
    if "error" in params:
        code = params["error"] if params["error"].isascii() else "access_denied"
        raise OAuthError(code, "the authorization was refused")
    if not params.get("code"):
        raise OAuthError("issuer_response_invalid", "the authorization response has no code")
    return {
        "grant_type": "authorization_code",
        "code": params["code"],
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
        "client_id": client_id,
    }
