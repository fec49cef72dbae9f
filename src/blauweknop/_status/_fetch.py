"""Fetching status lists over HTTPS, for the online ``sync`` step only (never during
verification).

IETF Token Status List, sections "Status List Request" / "Status List Response" (GET, Accept
``application/statuslist+jwt``, optional ``Content-Encoding: gzip``) and "Redirection 3xx"
(follow redirects, but bounded). The body size is bounded before and after decompression.

Example:
    >>> f = HttpsFetcher(timeout=5)
    >>> try:
    ...     f("http://example.com/status/1")
    ... except StatusError as e:
    ...     e.code
    'status_unavailable'
"""

from __future__ import annotations

import http.client
import ipaddress
import urllib.error
import urllib.parse
import urllib.request
from typing import IO, Any

from .._errors import MalformedError, StatusError
from .._limits import DEFAULT_LIMITS, Limits
from ._ietf import STATUS_LIST_MEDIA_TYPE, max_status_token_bytes
from ._inflate import GZIP_WBITS, inflate_bounded

__all__ = ["HttpsFetcher"]

_ACCEPT = (
    f"{STATUS_LIST_MEDIA_TYPE}, application/vc, application/vc+ld+json;q=0.9, "
    "application/json;q=0.5"
)


def _is_loopback_host(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HttpsFetcher:
    """A ``fetch(uri) -> bytes`` callable for :meth:`StatusListStore.sync`, built on ``urllib``.

    Only ``https`` URLs are fetched (TLS certificates verified by Python's default context);
    ``allow_http_loopback=True`` also allows plain ``http`` to 127.0.0.1/::1/localhost, for
    tests and a local mirror. Redirects are followed at most ``max_redirects`` times and must
    obey the same rule. Failures raise ``StatusError("status_unavailable")``.
    """

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        limits: Limits = DEFAULT_LIMITS,
        allow_http_loopback: bool = False,
        max_redirects: int = 3,
    ) -> None:
        self.timeout = timeout
        self.limits = limits
        self.allow_http_loopback = allow_http_loopback
        self.max_redirects = max_redirects

    def check_url(self, url: str) -> None:
        """Raise ``status_unavailable`` unless ``url`` may be fetched under this policy."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            return
        if (
            parts.scheme == "http"
            and self.allow_http_loopback
            and _is_loopback_host(parts.hostname)
        ):
            return
        raise StatusError("status_unavailable", f"refusing to fetch {url!r}: only https URLs")

    def _opener(self) -> urllib.request.OpenerDirector:
        fetcher = self

        class _Redirects(urllib.request.HTTPRedirectHandler):
            max_redirections = self.max_redirects

            def redirect_request(
                self,
                req: urllib.request.Request,
                fp: IO[bytes],
                code: int,
                msg: str,
                headers: Any,
                newurl: str,
            ) -> urllib.request.Request | None:
                fetcher.check_url(newurl)
                return super().redirect_request(req, fp, code, msg, headers, newurl)

        return urllib.request.build_opener(_Redirects())

    def __call__(self, uri: str) -> bytes:
        """GET ``uri`` and return the (decoded) body."""
        self.check_url(uri)
        max_bytes = max_status_token_bytes(self.limits)
        req = urllib.request.Request(  # noqa: S310 - scheme checked by check_url above
            uri, headers={"Accept": _ACCEPT, "Accept-Encoding": "gzip"}, method="GET"
        )
        try:
            with self._opener().open(req, timeout=self.timeout) as resp:
                body: bytes = resp.read(max_bytes + 1)
                encoding = (resp.headers.get("Content-Encoding") or "identity").strip().lower()
        except StatusError:
            raise
        except urllib.error.HTTPError as e:
            raise StatusError("status_unavailable", f"fetching {uri}: HTTP {e.code}") from e
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
            raise StatusError("status_unavailable", f"fetching {uri} failed: {e}") from e
        if len(body) > max_bytes:
            raise StatusError(
                "status_unavailable", f"{uri}: response larger than {max_bytes} bytes"
            )
        if encoding == "gzip":
            try:
                body = inflate_bounded(body, wbits=GZIP_WBITS, max_out=max_bytes, what=uri)
            except MalformedError as e:
                raise StatusError("status_unavailable", f"{uri}: {e.message}") from e
        elif encoding != "identity":
            raise StatusError(
                "status_unavailable", f"{uri}: unsupported Content-Encoding {encoding!r}"
            )
        return body
