"""The OAuth / OpenID4VCI error: one class, its ``code`` is the wire ``error`` value.

The codes are the ones the specifications name (RFC 6749 section 5.2, RFC 6750 section 3.1,
RFC 9449 section 7.1, OpenID4VCI 1.0 sections 6.3, 8.3.1.2 and 11.3); the HTTP status goes
with the code, so the service and the wallet client agree on both.
"""

from __future__ import annotations

from .._errors import BlauweKnopError

__all__ = ["STATUS_BY_CODE", "OAuthError"]

#: HTTP status per error code (anything else: 400).
STATUS_BY_CODE: dict[str, int] = {
    "invalid_token": 401,
    "invalid_client": 401,
    "insufficient_scope": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "request_too_large": 413,
    "unsupported_media_type": 415,
    "server_error": 500,
}


class OAuthError(BlauweKnopError):
    """An OpenID4VCI / OAuth protocol error, raised by the issuer service and by the wallet
    client (for an error the issuer answered, or for a response the wallet refuses).

    Attributes:
        code: the spec's error code (``invalid_grant``, ``invalid_proof``, ``invalid_nonce``,
            ``invalid_dpop_proof``, ``invalid_token``...), or on the wallet's side one of
            ``offer_malformed``, ``metadata_invalid``, ``issuer_unreachable``,
            ``issuer_response_invalid``, ``tx_code_required``.
        status: the HTTP status it travels with.
        www_authenticate: the scheme of a ``WWW-Authenticate`` challenge (``DPoP``), if any.
        headers: further response headers (``DPoP-Nonce``).

    Example:
        >>> e = OAuthError("invalid_grant", "the code was used before")
        >>> e.code, e.status
        ('invalid_grant', 400)
    """

    default_code = "invalid_request"

    def __init__(
        self,
        code: str | None = None,
        message: str | None = None,
        *,
        status: int | None = None,
        www_authenticate: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code, message)
        self.status: int = status or STATUS_BY_CODE.get(self.code, 400)
        self.www_authenticate = www_authenticate
        self.headers: dict[str, str] = dict(headers or {})

    def to_json(self) -> dict[str, str]:
        """The error response body (``error`` and an ASCII ``error_description``)."""
        desc = "".join(ch for ch in self.message if 0x20 <= ord(ch) <= 0x7E and ch not in '"\\')
        return {"error": self.code, "error_description": desc}
