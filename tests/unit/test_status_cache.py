"""The verifier's offline status cache, its sync step and the urllib fetcher (tested against
a loopback HTTP server and injected fetch functions; never the network)."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from blauweknop._errors import SignatureError, StatusError
from blauweknop._keys import Key
from blauweknop._status import (
    BitstringStatusList,
    BitstringStatusListEntry,
    HttpsFetcher,
    StatusList,
    StatusType,
    build_bitstring_status_list_credential,
    cache_file_name,
    list_admission,
    sign_status_list_token,
)
from blauweknop._status import (
    StatusListStore as StatusCache,
)

NOW = 1_700_000_000
URI = "https://status.cjib.example/lists/1.jwt"
ISS = "urn:oin:00000001234567890000"
OTHER_ISS = "urn:oin:00000009999999990000"


@pytest.fixture(scope="module")
def key() -> Key:
    return Key.generate()


def _token(
    key: Key, *, uri: str = URI, issuer: str = ISS, now: int = NOW, ttl: int = 3600
) -> bytes:
    sl = StatusList(128, 2)
    sl.set(1, StatusType.INVALID)
    sl.set(2, StatusType.SUSPENDED)
    return sign_status_list_token(sl, uri=uri, issuer=issuer, signer=key, now=now, ttl=ttl).encode()


@pytest.fixture
def cache(tmp_path: Path) -> StatusCache:
    return StatusCache(tmp_path / "status-cache")


def _admit(key: Key, now: float = NOW, **others: Key) -> Any:
    """Admission with ``key`` as ISS's key (and ``others`` as ``{issuer: key}``)."""
    keys = {ISS: [key], **{iss: [k] for iss, k in others.items()}}
    return list_admission(keys_for=lambda iss: keys[iss], now=now)


def _check(cache: StatusCache, key: Key, idx: int, **kw: Any) -> Any:
    args: dict[str, Any] = {"issuer_key": key, "expected_issuer": ISS, "now": NOW + 60}
    args.update(kw)
    return cache.check_token_status(URI, idx, **args)


def _code(exc: pytest.ExceptionInfo[StatusError]) -> str:
    return exc.value.code


# -- storage -------------------------------------------------------------------------------
def test_put_and_lookup(cache: StatusCache, key: Key) -> None:
    data = _token(key)
    cache.put(URI, data, fetched_at=NOW, admit=_admit(key))
    path = cache.directory / hashlib.sha256(ISS.encode() + b"\0" + URI.encode()).hexdigest()
    assert path.read_bytes() == data
    assert cache_file_name(URI, ISS) == path.name
    got = cache.lookup(URI, issuer=ISS)
    assert got is not None
    assert (got.uri, got.issuer, got.data, got.fetched_at) == (URI, ISS, data, NOW)
    assert cache.lookup("https://status.cjib.example/lists/2.jwt", issuer=ISS) is None
    assert cache.lookup(URI, issuer=OTHER_ISS) is None
    assert cache.uris() == [URI]
    index = json.loads((cache.directory / "index.json").read_text())
    assert index["entries"][path.name]["uri"] == URI


def test_offline_checks(cache: StatusCache, key: Key, no_network: list[Any]) -> None:
    cache.put(URI, _token(key), fetched_at=NOW, admit=_admit(key))
    result = _check(cache, key, 0)
    assert (result.uri, result.idx, result.status, result.issued_at) == (URI, 0, 0, NOW)
    with pytest.raises(StatusError) as ei:
        _check(cache, key, 1)
    assert _code(ei) == "revoked"
    with pytest.raises(StatusError) as ei:
        _check(cache, key, 2)
    assert _code(ei) == "suspended"


def test_missing_entry(cache: StatusCache, key: Key) -> None:
    with pytest.raises(StatusError) as ei:
        _check(cache, key, 0)
    assert _code(ei) == "status_unavailable"
    assert "sync" in ei.value.message


def test_undecodable_entry(cache: StatusCache, key: Key) -> None:
    cache.put(URI, _token(key), fetched_at=NOW, admit=_admit(key))
    (cache.directory / cache_file_name(URI, ISS)).write_bytes(b"\x00garbage")
    with pytest.raises(StatusError) as ei:
        _check(cache, key, 0)
    assert _code(ei) == "status_unavailable"


def test_stale_entry(cache: StatusCache, key: Key) -> None:
    cache.put(URI, _token(key, ttl=600), fetched_at=NOW, admit=_admit(key))
    _check(cache, key, 0, now=NOW + 600)
    with pytest.raises(StatusError) as ei:
        _check(cache, key, 0, now=NOW + 700)
    assert _code(ei) == "status_unavailable"
    assert "stale" in ei.value.message
    with pytest.raises(StatusError, match="stale"):
        _check(cache, key, 0, now=NOW + 300, max_age=200)


def test_ttl_counts_from_the_issue_time_not_the_fetch(cache: StatusCache, key: Key) -> None:
    cache.put(URI, _token(key, ttl=600), fetched_at=NOW + 500, admit=_admit(key))
    assert _check(cache, key, 0, now=NOW + 500).fresh_until == NOW + 600
    with pytest.raises(StatusError, match="stale"):
        _check(cache, key, 0, now=NOW + 1000)


def test_index_and_file_disagreeing_falls_back_to_iat(cache: StatusCache, key: Key) -> None:
    """A crash between the file write and the index write must not extend the ttl."""
    cache.put(URI, _token(key, ttl=600), fetched_at=NOW + 500, admit=_admit(key))
    newer = _token(key, ttl=600, now=NOW + 1)
    (cache.directory / cache_file_name(URI, ISS)).write_bytes(newer)
    got = cache.lookup(URI, issuer=ISS)
    assert got is not None
    assert got.fetched_at is None
    with pytest.raises(StatusError, match="stale"):
        _check(cache, key, 0, now=NOW + 1000)


def test_wrong_signer(cache: StatusCache, key: Key) -> None:
    with pytest.raises(StatusError) as ei:
        cache.put(URI, _token(Key.generate()), fetched_at=NOW, admit=_admit(key))
    assert _code(ei) == "status_invalid"
    with pytest.raises(StatusError) as ei:
        _check(cache, key, 0)
    assert _code(ei) == "status_unavailable"  # nothing entered the cache
    # planted behind the cache's back: the check still refuses it
    (cache.directory / cache_file_name(URI, ISS)).write_bytes(_token(Key.generate()))
    with pytest.raises(StatusError) as ei:
        _check(cache, key, 0)
    assert _code(ei) == "status_invalid"


def test_list_of_another_organisation(cache: StatusCache, key: Key) -> None:
    """A list for ISS's URI that names another organisation: signed with ISS's key it is
    refused; signed by the other organisation it is filed as that organisation's and never
    read for ISS's credentials."""
    other = Key.generate()
    with pytest.raises(StatusError, match="status_invalid"):
        cache.put(
            URI,
            _token(key, issuer=OTHER_ISS),
            fetched_at=NOW,
            admit=_admit(key, **{OTHER_ISS: other}),
        )
    cache.put(
        URI,
        _token(other, issuer=OTHER_ISS, now=NOW + 1),
        fetched_at=NOW,
        admit=_admit(key, now=NOW + 1, **{OTHER_ISS: other}),
    )
    with pytest.raises(StatusError, match="status_unavailable"):
        _check(cache, key, 0)
    # the genuine list still enters (no "rollback" against the other organisation's)
    cache.put(URI, _token(key), fetched_at=NOW, admit=_admit(key))
    assert _check(cache, key, 0).status == 0


def test_wrong_sub(cache: StatusCache, key: Key) -> None:
    elsewhere = _token(key, uri="https://status.cjib.example/lists/2.jwt")
    with pytest.raises(StatusError) as ei:
        cache.put(URI, elsewhere, fetched_at=NOW, admit=_admit(key))
    assert _code(ei) == "status_unavailable"
    # planted behind the cache's back: the check still refuses it
    (cache.directory / cache_file_name(URI, ISS)).write_bytes(elsewhere)
    with pytest.raises(StatusError) as ei:
        _check(cache, key, 0)
    assert _code(ei) == "status_invalid"


def test_index_out_of_range(cache: StatusCache, key: Key) -> None:
    cache.put(URI, _token(key), fetched_at=NOW, admit=_admit(key))
    with pytest.raises(StatusError) as ei:
        _check(cache, key, 128)
    assert _code(ei) == "status_invalid"


def test_rollback_is_refused(cache: StatusCache, key: Key) -> None:
    new = _token(key, now=NOW + 100)
    cache.put(URI, new, fetched_at=NOW + 100, admit=_admit(key, now=NOW + 100))
    with pytest.raises(StatusError) as ei:
        cache.put(URI, _token(key, now=NOW), fetched_at=NOW + 200, admit=_admit(key, NOW + 200))
    assert _code(ei) == "status_invalid"
    got = cache.lookup(URI, issuer=ISS)
    assert got is not None
    assert got.data == new


def test_garbage_does_not_replace_a_good_copy(cache: StatusCache, key: Key) -> None:
    good = _token(key)
    cache.put(URI, good, fetched_at=NOW, admit=_admit(key))
    for junk in (b"<html>502 Bad Gateway</html>", b"", b"{}", b"a.b.c"):
        with pytest.raises(StatusError, match="status_unavailable"):
            cache.put(URI, junk, fetched_at=NOW + 1, admit=_admit(key))
    got = cache.lookup(URI, issuer=ISS)
    assert got is not None
    assert got.data == good


# -- W3C lists through the cache -----------------------------------------------------------
def test_bitstring_status_through_the_cache(cache: StatusCache) -> None:
    uri = "https://status.cjib.example/lists/1-revocation.json"
    bl = BitstringStatusList()
    bl.set(9, 1)

    def sign(doc: dict[str, Any]) -> dict[str, Any]:
        return {**doc, "proof": {"proofValue": "zOK"}}

    def verify(doc: dict[str, Any]) -> str:
        if doc.get("proof") != {"proofValue": "zOK"}:
            raise SignatureError("signature_invalid", "bad proof")
        return str(doc["issuer"])

    doc = build_bitstring_status_list_credential(
        credential_id=uri,
        issuer=ISS,
        status_purpose="revocation",
        status_list=bl,
        valid_from=NOW,
        valid_until=NOW + 86400,
        sign=sign,
    )
    admit = list_admission(keys_for=lambda iss: [], verifier_for=lambda iss: verify, now=NOW)
    cache.put(uri, json.dumps(doc).encode(), fetched_at=NOW, admit=admit)

    def entry(i: int) -> BitstringStatusListEntry:
        return BitstringStatusListEntry(
            status_purpose="revocation", status_list_index=i, status_list_credential=uri
        )

    kw: dict[str, Any] = {"verify": verify, "expected_issuer": ISS, "now": NOW + 60}
    assert cache.check_bitstring_status(entry(8), **kw).status == 0
    with pytest.raises(StatusError, match="revoked"):
        cache.check_bitstring_status(entry(9), **kw)
    # another organisation's credential pointing at this URI finds no list of its issuer
    with pytest.raises(StatusError, match="status_unavailable"):
        cache.check_bitstring_status(entry(9), **{**kw, "expected_issuer": OTHER_ISS})
    with pytest.raises(StatusError, match="status_unavailable"):
        cache.check_bitstring_status(
            BitstringStatusListEntry(
                status_purpose="revocation",
                status_list_index=1,
                status_list_credential="https://status.cjib.example/lists/2-revocation.json",
            ),
            **kw,
        )


# -- sync ----------------------------------------------------------------------------------
def test_sync_with_injected_fetch(cache: StatusCache, key: Key) -> None:
    other = "https://status.cjib.example/lists/2.jwt"
    served = {URI: _token(key)}

    def fetch(uri: str) -> bytes:
        if uri not in served:
            raise StatusError("status_unavailable", f"HTTP 404 for {uri}")
        return served[uri]

    report = cache.sync([URI, other, URI], fetch=fetch, now=NOW, admit=_admit(key))
    assert report.updated == (URI,)
    assert [(f.uri, f.code) for f in report.failed] == [(other, "status_unavailable")]
    assert not report.ok
    assert _check(cache, key, 0).status == 0


def test_sync_reports_os_errors(cache: StatusCache, key: Key) -> None:
    def fetch(uri: str) -> bytes:
        raise ConnectionResetError("peer reset")

    report = cache.sync([URI], fetch=fetch, now=NOW, admit=_admit(key))
    assert report.failed[0].code == "status_unavailable"


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, dict[str, str], bytes]]] = {}

    def do_GET(self) -> None:
        status, headers, body = self.routes.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        _Handler.routes = {}


def test_sync_over_loopback_http(cache: StatusCache, key: Key, server: str) -> None:
    uri = f"{server}/lists/1.jwt"
    sl = StatusList(64, 2)
    sl.set(5, StatusType.INVALID)
    token = sign_status_list_token(sl, uri=uri, issuer=ISS, signer=key, now=NOW, ttl=3600)
    zipped_uri = f"{server}/lists/2.jwt"
    zipped = sign_status_list_token(sl, uri=zipped_uri, issuer=ISS, signer=key, now=NOW, ttl=3600)
    _Handler.routes = {
        "/lists/1.jwt": (200, {"Content-Type": "application/statuslist+jwt"}, token.encode()),
        "/lists/2.jwt": (
            200,
            {"Content-Type": "application/statuslist+jwt", "Content-Encoding": "gzip"},
            gzip.compress(zipped.encode()),
        ),
        "/moved": (302, {"Location": "/lists/1.jwt"}, b""),
        "/away": (302, {"Location": "http://198.51.100.7/lists/1.jwt"}, b""),
    }
    fetch = HttpsFetcher(timeout=5, allow_http_loopback=True)
    report = cache.sync(
        [uri, zipped_uri, f"{server}/missing"], fetch=fetch, now=NOW, admit=_admit(key)
    )
    assert report.updated == (uri, zipped_uri)
    assert report.failed[0].code == "status_unavailable"
    assert "404" in report.failed[0].message
    assert fetch(f"{server}/moved") == token.encode()
    with pytest.raises(StatusError, match="only https"):
        fetch(f"{server}/away")  # a redirect may not leave loopback/https
    for u, i in ((uri, 5), (zipped_uri, 5)):
        with pytest.raises(StatusError, match="revoked"):
            cache.check_token_status(u, i, issuer_key=key, expected_issuer=ISS, now=NOW + 60)


def test_fetcher_refuses_plain_http_by_default(server: str) -> None:
    with pytest.raises(StatusError) as ei:
        HttpsFetcher()(f"{server}/lists/1.jwt")
    assert ei.value.code == "status_unavailable"
    with pytest.raises(StatusError):
        HttpsFetcher(allow_http_loopback=True)("file:///etc/passwd")


def test_fetcher_bounds_the_body(server: str) -> None:
    from blauweknop._limits import Limits

    limits = Limits(max_status_list_bytes=1024)
    big = b"x" * 200_000
    _Handler.routes = {
        "/big": (200, {}, big),
        "/bomb": (200, {"Content-Encoding": "gzip"}, gzip.compress(bytes(50 * 1024 * 1024))),
    }
    fetch = HttpsFetcher(timeout=5, allow_http_loopback=True, limits=limits)
    with pytest.raises(StatusError, match="larger than"):
        fetch(f"{server}/big")
    with pytest.raises(StatusError, match="status_unavailable"):
        fetch(f"{server}/bomb")
