"""OpenID for Verifiable Credential Issuance 1.0: the issuer service and the wallet client.

A municipality or creditor hands a credential straight to the citizen's app:

* :class:`IssuerService` holds the protocol rules (metadata, pre-authorized code with PIN,
  DPoP-bound tokens, nonces, ``jwt`` key proofs, batch issuance, notifications) in a plain
  class; :func:`asgi_app` serves it with Starlette/uvicorn. Credentials are issued through
  the organisation's :class:`~blauweknop.Issuer` (register, status index, audit as always).
* :class:`SQLiteProtocolStore` keeps the protocol state in the issuer's register file;
  :class:`ProtocolStore` is the seam for another backend.
* :func:`receive_offer` (also :meth:`blauweknop.Wallet.receive`) is the wallet's side.

Errors on the wire and in the client are :class:`OAuthError`, whose ``code`` is the spec's
error code. See ``specs/oid4vci.md``.

Example:
    >>> parse_offer_link("openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fx.example%2Foffers%2F1")
    (None, 'https://x.example/offers/1')
"""

from ._asgi import asgi_app
from ._client import OFFER_SCHEMES, parse_offer_link, receive_offer
from ._errors import OAuthError
from ._service import (
    Authenticator,
    CredentialOfferLink,
    HttpRequest,
    HttpResponse,
    IssuerService,
)
from ._store import ProtocolStore, SQLiteProtocolStore

__all__ = [
    "OFFER_SCHEMES",
    "Authenticator",
    "CredentialOfferLink",
    "HttpRequest",
    "HttpResponse",
    "IssuerService",
    "OAuthError",
    "ProtocolStore",
    "SQLiteProtocolStore",
    "asgi_app",
    "parse_offer_link",
    "receive_offer",
]
