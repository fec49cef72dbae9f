"""OpenID for Verifiable Presentations 1.0 with the HAIP 1.0 profile: the creditor asks, the
citizen's wallet answers.

Verifier (creditor) side: :class:`VerifierService` creates a signed Authorization Request
(JAR, ``typ: oauth-authz-req+jwt``, ``x5c`` chain, client id ``x509_hash:...``) for a DCQL query,
serves it at its ``request_uri`` and verifies the encrypted ``direct_post.jwt`` response with
:class:`~blauweknop.Verifier`; sessions live in a :class:`SessionStore` (SQLite, single use
enforced by the database). :func:`verifier_app` is the ASGI app around it, with the creditor's
page (QR code, same-device link, result and hold decision).

Wallet side: :class:`WalletResponder` fetches and verifies a request (``openid4vp://``,
``haip://``, ``haip-vp://``), checks the verifier's registration in the trust list, plans the
disclosure, asks for consent and posts the encrypted response.

Both sides also speak the W3C Digital Credentials API variant (Annex A, ``dc_api.jwt``).
Format and rules: ``specs/oid4vp.md``.

Example:
    >>> from blauweknop.oid4vp import SessionStore
    >>> SessionStore(":memory:").get("unknown") is None
    True
"""

from ._app import verifier_app
from ._responder import Consent, ReceivedRequest, ResponseOutcome, WalletResponder
from ._service import Decision, RequestHandle, VerifierService
from ._store import Session, SessionStore

__all__ = [
    "Consent",
    "Decision",
    "ReceivedRequest",
    "RequestHandle",
    "ResponseOutcome",
    "Session",
    "SessionStore",
    "VerifierService",
    "WalletResponder",
    "verifier_app",
]
