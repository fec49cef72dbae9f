"""A creditor's minimal verification endpoint on ``blauweknop.Verifier``, standard library only.

Two routes, after OpenID4VP 1.0 with ``response_mode=direct_post``:

``GET /request``
    A fresh transaction: the DCQL request, a random ``nonce``, a ``state`` that names the
    transaction, and the creditor's identifier (``client_id``, the audience the wallet binds
    its answer to).

``POST /response``
    ``{"state": ..., "vp_token": {...}}`` (JSON, or a form with those two fields). Once a
    readable answer names an open transaction, the transaction is taken out of the table
    *before* verification, so its nonce is used once, whatever the outcome; a second answer
    to it is refused (HTTP 409). Used nonces are also remembered per (nonce, audience): a
    replay cache is never keyed on the token's bytes, since an ECDSA signature can be altered
    without the key and still verify. A body that cannot be read (HTTP 400/411/413/408), or a
    refusal because the service's own trust list is too old (HTTP 503), spends no nonce: the
    wallet may answer the same request again.
    On success (HTTP 200): the verified claims per credential and, for a Rode Knop declaration,
    the hold decision. On a rejection (HTTP 422): ``{"ok": false, "code": ..., "message": ...}``.

Every response, errors included, is JSON ``{"ok": ..., "code": ...}``; never a traceback or a
dropped connection (an unexpected fault is HTTP 500 ``internal_error``). The service serves at
most ``MAX_CONNECTIONS`` connections at once (more get HTTP 503 ``busy`` at once), closes a
connection that is silent for ``SOCKET_TIMEOUT`` seconds and any that takes longer than
``REQUEST_DEADLINE`` in total, refuses bodies over ``MAX_BODY`` bytes and JSON nested deeper
than ``Limits().max_json_depth``.

Verification is offline: the trust list is verified against the pinned anchor key at start-up
and again whenever its file changes (so a fresh list can be dropped in place), and refused once
it is older than ``--trust-max-age`` (31 days by default, counted from its ``iat``); status
comes from a cache directory that a separate job keeps fresh (``blauweknop status sync
--status-dir DIR ...``, e.g. from cron). A production service also needs TLS in front and
request logging without personal data.

Run:
    ``python examples/creditor_service.py --trust-list TRUST.jwt --anchor ANCHOR.pub.jwk
    --status-dir CACHE --audience urn:oin:... [--request DCQL.json] [--port 0]``
    (prints ``listening on http://127.0.0.1:PORT``), or
    ``python examples/creditor_service.py --demo``: sets up a fictional scheme, starts the
    service on a free loopback port, answers it with a wallet over HTTP, shows that a replayed
    answer is refused, and stops.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import secrets
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from blauweknop import BlauweKnopError, Key, Limits, StatusCache, TrustList, Verifier
from rodeknop_vc import RODE_KNOP_VCT, hold_decision

DATA = Path(__file__).resolve().parent / "data"
#: How long a wallet has to answer a request.
TRANSACTION_TTL = 300
MAX_BODY = Limits().max_vp_token_bytes + 4096
MAX_JSON_DEPTH = Limits().max_json_depth
#: Connections served at once; one more is answered 503 at once instead of queueing a thread.
MAX_CONNECTIONS = 32
#: Seconds a connection may stay silent (reading the request, or waiting to send the reply).
SOCKET_TIMEOUT = 10
#: Seconds a connection may last in all, so that a client dripping a byte at a time is cut off.
REQUEST_DEADLINE = 30
#: A trust list older than this (seconds since its ``iat``) is not used.
TRUST_MAX_AGE = 31 * 86400


def _error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "code": code, "message": message}


class CreditorService:
    """The logic behind the two routes, free of HTTP so that it is easy to test.

    ``reload`` (optional) is called before each answer is handled and returns the verifier to
    use (a new one when the trust list file changed); ``trust_max_age`` is the oldest trust
    list, counted from its ``iat``, that the service still verifies with.
    """

    def __init__(
        self,
        verifier: Verifier,
        *,
        audience: str,
        request: Mapping[str, Any],
        ttl: int = TRANSACTION_TTL,
        trust_max_age: float = TRUST_MAX_AGE,
        reload: Callable[[], Verifier] | None = None,
    ) -> None:
        self.verifier = verifier
        self.audience = audience
        self.request = dict(request)
        self.ttl = ttl
        self.trust_max_age = trust_max_age
        self.reload = reload
        self._lock = threading.Lock()
        self._open: dict[str, tuple[str, float]] = {}  # state -> (nonce, expires at)
        self._used: dict[tuple[str, str], float] = {}  # (nonce, audience) -> forget after

    def new_transaction(self, response_uri: str) -> dict[str, Any]:
        """GET /request: a fresh nonce and state for one answer."""
        nonce, state = secrets.token_urlsafe(32), secrets.token_urlsafe(16)
        now = time.time()
        with self._lock:  # drop what has expired, then open the new transaction
            self._open = {s: v for s, v in self._open.items() if v[1] > now}
            self._used = {k: until for k, until in self._used.items() if until > now}
            self._open[state] = (nonce, now + self.ttl)
        return {
            "client_id": self.audience,
            "response_type": "vp_token",
            "response_mode": "direct_post",
            "response_uri": response_uri,
            "nonce": nonce,
            "state": state,
            "dcql_query": self.request,
        }

    def receive(self, state: Any, vp_token: Any) -> tuple[int, dict[str, Any]]:
        """POST /response: (HTTP status, JSON body)."""
        if not isinstance(state, str) or not isinstance(vp_token, Mapping | str):
            return 400, _error("bad_request", "need state and vp_token")
        # Checked before the transaction is taken: the wallet may retry once the list is fresh.
        verifier = self.reload() if self.reload is not None else self.verifier
        self.verifier = verifier
        if time.time() - verifier.trust_list.issued_at > self.trust_max_age:
            return 503, _error(
                "trust_list_expired", "the service's trust list is too old; try again later"
            )
        with self._lock:  # single use: take the transaction out before verifying
            nonce, expires = self._open.pop(state, (None, 0.0))
            replay = nonce is None or (nonce, self.audience) in self._used
            if nonce is not None:  # remembered until no key-binding proof for it can be fresh
                self._used[(nonce, self.audience)] = expires + verifier.kb_max_age
        if replay or nonce is None:
            return 409, _error(
                "transaction_unknown_or_used", "no open request with this state: ask for a new one"
            )
        if time.time() > expires:
            return 409, _error("transaction_expired", "request expired")
        try:
            result = verifier.verify(
                vp_token, nonce=nonce, audience=self.audience, request=self.request
            )
            today = dt.datetime.now(dt.UTC).date()
            # inside the try: a decision on claims that cannot be read is a rejection too
            decisions = [
                hold_decision(c, today=today).to_json() for c in result.of_type(RODE_KNOP_VCT)
            ]
        except BlauweKnopError as e:
            return 422, _error(e.code, e.message)
        return 200, {
            "ok": True,
            "credentials": [c.to_json() for c in result.credentials],
            "decisions": decisions,
        }


def strict_json(raw: bytes) -> Any:
    """Parse JSON refusing what Python's ``json`` lets through: duplicate member names (which
    copy would the signature have covered?), ``NaN``/``Infinity``, and nesting deeper than
    ``MAX_JSON_DEPTH`` (Python's parser would raise ``RecursionError`` far deeper). Raises
    ``ValueError``."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            raise ValueError("duplicate member name")
        return obj

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        value = json.loads(raw, object_pairs_hook=no_duplicates, parse_constant=no_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise ValueError("JSON nested too deeply")
    return value


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            stack.extend(
                (v, level + 1) for v in (item.values() if isinstance(item, dict) else item)
            )
    return deepest


class BoundedHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server with a cap on concurrent connections and a deadline for each.

    ``ThreadingHTTPServer`` starts one thread per connection without limit, and a client that
    connects and sends nothing keeps its thread forever. Here a connection beyond
    ``max_connections`` is answered ``503 busy`` by the accepting thread and closed, and the
    accepting loop shuts down any connection older than ``deadline`` seconds.
    """

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # the listen backlog: connections waiting to be accepted

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        max_connections: int = MAX_CONNECTIONS,
        deadline: float = REQUEST_DEADLINE,
    ) -> None:
        super().__init__(address, handler)
        self.deadline = deadline
        self._slots = threading.BoundedSemaphore(max_connections)
        self._deadlines: dict[socket.socket, float] = {}
        self._deadlines_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            _answer_busy(request)
            self.shutdown_request(request)
            return
        with self._deadlines_lock:
            self._deadlines[request] = time.monotonic() + self.deadline
        try:
            super().process_request(request, client_address)  # starts the thread
        except BaseException:
            self._release(request)
            self.shutdown_request(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release(request)

    def _release(self, request: Any) -> None:
        with self._deadlines_lock:
            self._deadlines.pop(request, None)
        self._slots.release()

    def service_actions(self) -> None:
        """Called by ``serve_forever`` twice a second: cut off connections past the deadline."""
        now = time.monotonic()
        with self._deadlines_lock:
            late = [s for s, until in self._deadlines.items() if until < now]
        for s in late:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # the handler answers every fault itself; print no traceback (it may hold request data)
        kind = sys.exc_info()[0]
        sys.stderr.write(f"connection error: {kind.__name__ if kind else 'unknown'}\n")


def _json_response(status: int, reason: str, body: Mapping[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"HTTP/1.0 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + data


_BUSY = _json_response(503, "Service Unavailable", _error("busy", "too many connections; retry"))


def _answer_busy(sock: socket.socket) -> None:
    """Answer 503 without a thread: a few hundred bytes fit the socket buffer at once."""
    with contextlib.suppress(OSError):
        sock.settimeout(1)
        sock.sendall(_BUSY)
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.recv(65536)  # what the client sent already, so closing does not reset


#: The code for each error status that the ``http.server`` machinery itself may send.
_STATUS_CODES = {
    400: "bad_request",
    404: "not_found",
    408: "request_timeout",
    411: "length_required",
    413: "too_large",
    414: "uri_too_long",
    431: "headers_too_large",
    500: "internal_error",
    501: "method_not_allowed",
    505: "http_version_not_supported",
}


def make_server(
    service: CreditorService, host: str = "127.0.0.1", port: int = 0
) -> BoundedHTTPServer:
    """An HTTP server for ``service`` (``port=0``: any free port; see ``server.server_port``)."""

    class Handler(BaseHTTPRequestHandler):
        timeout = SOCKET_TIMEOUT  # applied to the socket: a silent client is cut off
        server_version = "creditor-service"
        sys_version = ""

        def _send(self, status: int, body: Mapping[str, Any]) -> None:
            self.responded = True
            self.close_connection = True
            # http.server writes no status line or headers for "HTTP/0.9", its default when
            # the request line could not be read: always answer in HTTP/1.0 form
            if self.request_version == "HTTP/0.9":
                self.request_version = "HTTP/1.0"
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)

        def send_error(
            self, code: int, message: str | None = None, explain: str | None = None
        ) -> None:
            """Errors from ``http.server`` itself (bad request line, 414, 431, 501): JSON too."""
            self._send(code, _error(_STATUS_CODES.get(code, f"http_{code}"), message or ""))

        def _guarded(self, route: Callable[[], None]) -> None:
            self.responded = False
            try:
                route()
            except TimeoutError:
                if not self.responded:
                    with contextlib.suppress(OSError):
                        self._send(
                            408, _error("request_timeout", "the request was not sent in time")
                        )
            except OSError:
                pass  # the client went away (or the deadline cut the connection): no one to tell
            except Exception as e:  # noqa: BLE001 - every request gets a JSON answer
                sys.stderr.write(f"internal error: {type(e).__name__}\n")  # no personal data
                if not self.responded:
                    with contextlib.suppress(OSError):
                        self._send(500, _error("internal_error", "the request was not completed"))

        def do_GET(self) -> None:
            self._guarded(self._get)

        def do_POST(self) -> None:
            self._guarded(self._post)

        def _get(self) -> None:
            if self.path != "/request":
                self._send(404, _error("not_found", "no such route"))
                return
            host_port = f"{self.server.server_address[0]}:{self.server.server_address[1]}"
            self._send(200, service.new_transaction(f"http://{host_port}/response"))

        def _body_length(self) -> int | None:
            """The ``Content-Length``, or ``None`` after answering why it is not acceptable."""
            if self.headers.get("Transfer-Encoding") is not None:
                self._send(411, _error("length_required", "send a Content-Length, not chunks"))
                return None
            values = [v.strip() for v in self.headers.get_all("Content-Length") or []]
            if not values:
                self._send(411, _error("length_required", "Content-Length is missing"))
                return None
            text = values[0]
            if len(set(values)) != 1 or not (text.isascii() and text.isdigit()) or len(text) > 12:
                self._send(400, _error("bad_request", "malformed Content-Length"))
                return None
            length = int(text)
            if length == 0:
                self._send(400, _error("bad_request", "empty body"))
                return None
            if length > MAX_BODY:
                self._send(413, _error("too_large", f"body over {MAX_BODY} bytes"))
                return None
            return length

        def _post(self) -> None:
            if self.path != "/response":
                self._send(404, _error("not_found", "no such route"))
                return
            length = self._body_length()
            if length is None:
                return
            raw = self.rfile.read(length)
            if len(raw) != length:
                self._send(400, _error("bad_request", "body shorter than its Content-Length"))
                return
            try:
                if self.headers.get_content_type() == "application/x-www-form-urlencoded":
                    form = urllib.parse.parse_qs(raw.decode(), strict_parsing=True)
                    if any(len(form.get(k, ())) != 1 for k in ("state", "vp_token")):
                        raise ValueError("state and vp_token once each")
                    state, vp_token = form["state"][0], form["vp_token"][0]
                else:
                    body = strict_json(raw)
                    if not isinstance(body, dict):
                        raise TypeError("not a JSON object")
                    state, vp_token = body["state"], body["vp_token"]
            except (ValueError, KeyError, TypeError):
                self._send(400, _error("bad_request", "unreadable body"))
                return
            # The vp_token goes to the verifier as received: it parses strictly itself.
            self._send(*service.receive(state, vp_token))

        def log_message(self, fmt: str, *args: Any) -> None:  # no personal data in logs
            path = str(getattr(self, "path", "") or "").split("?")[0][:100]
            sys.stderr.write(f"{getattr(self, 'command', None) or '-'} {path!r}\n")

    return BoundedHTTPServer((host, port), Handler)


def load_service(
    trust_list: Path,
    anchor: Path,
    status_dir: Path,
    audience: str,
    request: Path,
    *,
    trust_max_age: float = TRUST_MAX_AGE,
) -> CreditorService:
    """Start-up: verify the trust list against the pinned anchor, open the status cache.

    The trust list file is verified again whenever it changes; a changed file that does not
    verify is ignored (the last good list stays in use, until it is too old).
    """
    anchor_key = Key.from_jwk(json.loads(anchor.read_text()))
    cache = StatusCache(status_dir)

    def fingerprint() -> tuple[int, int, int]:
        st = trust_list.stat()
        return st.st_ino, st.st_mtime_ns, st.st_size

    def verifier_for_file() -> Verifier:
        trust = TrustList.verify(trust_list.read_bytes(), anchor_key, max_age=trust_max_age)
        return Verifier(trust, status=cache)

    seen = [fingerprint()]
    current = [verifier_for_file()]
    reload_lock = threading.Lock()

    def reload() -> Verifier:
        with reload_lock:
            try:
                now_seen = fingerprint()
                if now_seen != seen[0]:
                    seen[0] = now_seen
                    current[0] = verifier_for_file()
            except (OSError, BlauweKnopError) as e:
                sys.stderr.write(f"trust list not reloaded: {getattr(e, 'code', 'unreadable')}\n")
            return current[0]

    return CreditorService(
        current[0],
        audience=audience,
        request=json.loads(request.read_text()),
        trust_max_age=trust_max_age,
        reload=reload,
    )


# -- the demo: a fictional scheme and a wallet talking to the service over loopback HTTP ------
def _http(
    method: str, url: str, body: Mapping[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    # S310: the demo only ever calls the loopback URL of its own server.
    req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def demo() -> int:
    import tempfile

    from blauweknop import Issuer, Wallet, build_trust_list
    from blauweknop.debt import DebtStatement
    from rodeknop_vc import PaymentIncapacityDeclaration

    cjib_id = "urn:oin:00000001003214345000"
    work = Path(tempfile.mkdtemp(prefix="creditor-service-"))
    anchor = Key.generate()
    gemeente = Issuer.init(
        work / "eindhoven",
        issuer_id="urn:oin:00000001001234567000",
        name="Gemeente Eindhoven",
        roles=["municipality"],
        status_base_uri="https://status.eindhoven.example/rk",
    )
    cjib = Issuer.init(
        work / "cjib",
        issuer_id=cjib_id,
        name="CJIB",
        roles=["creditor"],
        status_base_uri="https://status.cjib.example/bk",
    )
    (work / "trust.jwt").write_text(
        build_trust_list([gemeente.trust_entry(), cjib.trust_entry()], anchor, valid_days=30)
    )
    (work / "anchor.pub.jwk").write_text(json.dumps(anchor.public_jwk()))
    wallet = Wallet.create(work / "wallet", key=secrets.token_bytes(32))
    today = dt.date.today()
    claims = json.loads((DATA / "rode-knop-declaration.json").read_text())
    claims |= {
        "trajectory_start": today.isoformat(),
        "valid_from": today.isoformat(),
        "valid_until": (today + dt.timedelta(days=119)).isoformat(),
    }
    trust = TrustList.verify((work / "trust.jwt").read_text(), anchor.public())
    for cred in (
        gemeente.issue(
            PaymentIncapacityDeclaration.from_claims(claims), holder_jwk=wallet.holder_jwk()
        ),
        cjib.issue(
            DebtStatement.from_claims(json.loads((DATA / "debt-statement.json").read_text())),
            holder_jwk=wallet.holder_jwk(),
        ),
    ):
        wallet.add(cred.text, trust_list=trust)
    # The status sync step, done from the published files instead of over HTTPS.
    cache = StatusCache(work / "status-cache", trust_list=trust)
    for issuer, name in ((gemeente, "eindhoven"), (cjib, "cjib")):
        for f in issuer.publish_status(work / "published" / name):
            cache.import_file(f)

    service = load_service(
        work / "trust.jwt",
        work / "anchor.pub.jwk",
        work / "status-cache",
        cjib_id,
        DATA / "requests" / "hold-and-totals.json",
    )
    server = make_server(service)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    print(f"listening on {base}")
    try:
        status, req = _http("GET", f"{base}/request")
        print(f"GET /request -> {status}; nonce {req['nonce'][:8]}..., state {req['state'][:8]}...")
        vp_token = wallet.present(req["dcql_query"], nonce=req["nonce"], audience=req["client_id"])
        answer = {"state": req["state"], "vp_token": vp_token}
        status, body = _http("POST", req["response_uri"], answer)
        print(f"POST /response -> {status}")
        print(json.dumps(body["decisions"], indent=2))
        for c in body["credentials"]:
            print(f"  verified {c['vct']} from {c['issuer_name']}")
        status2, body2 = _http("POST", req["response_uri"], answer)
        print(f"POST /response again (replay) -> {status2} {body2['code']}")
        ok = status == 200 and body["decisions"][0]["hold"] and status2 == 409
    finally:
        server.shutdown()
        server.server_close()
        wallet.close()
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", action="store_true", help="run the self-contained demonstration")
    ap.add_argument("--trust-list", type=Path, help="the signed trust list (JWT)")
    ap.add_argument("--anchor", type=Path, help="the scheme authority's public key (JWK)")
    ap.add_argument("--status-dir", type=Path, help="status cache kept fresh by `status sync`")
    ap.add_argument("--audience", help="this creditor's identifier, e.g. urn:oin:...")
    ap.add_argument(
        "--request",
        type=Path,
        default=DATA / "requests" / "hold-and-totals.json",
        help="the DCQL request to send",
    )
    ap.add_argument(
        "--trust-max-age",
        type=float,
        default=TRUST_MAX_AGE / 86400,
        help="refuse a trust list older than this many days (from its iat; default 31)",
    )
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    args = ap.parse_args(argv)
    if args.demo:
        return demo()
    if not (args.trust_list and args.anchor and args.status_dir and args.audience):
        ap.error("give --trust-list, --anchor, --status-dir and --audience (or --demo)")
    try:
        service = load_service(
            args.trust_list,
            args.anchor,
            args.status_dir,
            args.audience,
            args.request,
            trust_max_age=args.trust_max_age * 86400,
        )
    except (OSError, ValueError, BlauweKnopError) as e:
        print(f"cannot start: {e}", file=sys.stderr)
        return 2
    server = make_server(service, args.host, args.port)
    print(f"listening on http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
