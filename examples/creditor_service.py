"""A creditor's minimal verification endpoint on ``blauweknop.Verifier``, standard library only.

Two routes, after OpenID4VP 1.0 with ``response_mode=direct_post``:

``GET /request``
    A fresh transaction: the DCQL request, a random ``nonce``, a ``state`` that names the
    transaction, and the creditor's identifier (``client_id``, the audience the wallet binds
    its answer to).

``POST /response``
    ``{"state": ..., "vp_token": {...}}`` (JSON, or a form with those two fields). The
    transaction is taken out of the table *before* verification, so its nonce is used once,
    whatever the outcome; a second answer to it is refused (HTTP 409). Used nonces are also
    remembered per (nonce, audience): a replay cache is never keyed on the token's bytes, since
    an ECDSA signature can be altered without the key and still verify.
    On success (HTTP 200): the verified claims per credential and, for a Rode Knop declaration,
    the hold decision. On a rejection (HTTP 422): ``{"ok": false, "code": ..., "message": ...}``.

Verification is offline: the trust list was verified at start-up against the pinned anchor
key, and status comes from a cache directory that a separate job keeps fresh
(``blauweknop status sync --status-dir DIR ...``, e.g. from cron). A production service also
needs TLS, request logging without personal data, and a periodic reload of the trust list.

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
import datetime as dt
import json
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from blauweknop import BlauweKnopError, Key, Limits, StatusCache, TrustList, Verifier
from rodeknop_vc import RODE_KNOP_VCT, hold_decision

DATA = Path(__file__).resolve().parent / "data"
#: How long a wallet has to answer a request.
TRANSACTION_TTL = 300
MAX_BODY = Limits().max_vp_token_bytes + 4096


class CreditorService:
    """The logic behind the two routes, free of HTTP so that it is easy to test."""

    def __init__(
        self,
        verifier: Verifier,
        *,
        audience: str,
        request: Mapping[str, Any],
        ttl: int = TRANSACTION_TTL,
    ) -> None:
        self.verifier = verifier
        self.audience = audience
        self.request = dict(request)
        self.ttl = ttl
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
            return 400, {"ok": False, "code": "bad_request", "message": "need state and vp_token"}
        with self._lock:  # single use: take the transaction out before verifying
            nonce, expires = self._open.pop(state, (None, 0.0))
            replay = nonce is None or (nonce, self.audience) in self._used
            if nonce is not None:  # remembered until no key-binding proof for it can be fresh
                self._used[(nonce, self.audience)] = expires + self.verifier.kb_max_age
        if replay:
            return 409, {
                "ok": False,
                "code": "transaction_unknown_or_used",
                "message": "no open request with this state: ask for a new one",
            }
        if time.time() > expires:
            return 409, {"ok": False, "code": "transaction_expired", "message": "request expired"}
        try:
            result = self.verifier.verify(
                vp_token, nonce=nonce, audience=self.audience, request=self.request
            )
        except BlauweKnopError as e:
            return 422, {"ok": False, "code": e.code, "message": e.message}
        today = dt.datetime.now(dt.UTC).date()
        decisions = [hold_decision(c, today=today).to_json() for c in result.of_type(RODE_KNOP_VCT)]
        return 200, {
            "ok": True,
            "credentials": [c.to_json() for c in result.credentials],
            "decisions": decisions,
        }


def strict_json(raw: bytes) -> Any:
    """Parse JSON refusing what Python's ``json`` lets through: duplicate member names (which
    copy would the signature have covered?) and ``NaN``/``Infinity``."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            raise ValueError("duplicate member name")
        return obj

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(raw, object_pairs_hook=no_duplicates, parse_constant=no_constant)


def make_server(
    service: CreditorService, host: str = "127.0.0.1", port: int = 0
) -> ThreadingHTTPServer:
    """An HTTP server for ``service`` (``port=0``: any free port; see ``server.server_port``)."""

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: Mapping[str, Any]) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path != "/request":
                self._send(404, {"ok": False, "code": "not_found", "message": self.path})
                return
            host_port = f"{self.server.server_address[0]}:{self.server.server_address[1]}"
            self._send(200, service.new_transaction(f"http://{host_port}/response"))

        def do_POST(self) -> None:
            if self.path != "/response":
                self._send(404, {"ok": False, "code": "not_found", "message": self.path})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 < length <= MAX_BODY:
                self._send(413, {"ok": False, "code": "too_large", "message": "body size"})
                return
            raw = self.rfile.read(length)
            try:
                if self.headers.get_content_type() == "application/x-www-form-urlencoded":
                    form = urllib.parse.parse_qs(raw.decode(), strict_parsing=True)
                    state, vp_token = form["state"][0], form["vp_token"][0]
                else:
                    body = strict_json(raw)
                    state, vp_token = body["state"], body["vp_token"]
            except (ValueError, KeyError, TypeError):
                self._send(400, {"ok": False, "code": "bad_request", "message": "unreadable body"})
                return
            # The vp_token goes to the verifier as received: it parses strictly itself.
            self._send(*service.receive(state, vp_token))

        def log_message(self, fmt: str, *args: Any) -> None:  # no personal data in logs
            sys.stderr.write(f"{self.command} {self.path.split('?')[0]}\n")

    return ThreadingHTTPServer((host, port), Handler)


def load_service(
    trust_list: Path, anchor: Path, status_dir: Path, audience: str, request: Path
) -> CreditorService:
    """Start-up: verify the trust list against the pinned anchor, open the status cache."""
    anchor_key = Key.from_jwk(json.loads(anchor.read_text()))
    trust = TrustList.verify(trust_list.read_bytes(), anchor_key)
    verifier = Verifier(trust, status=StatusCache(status_dir))
    return CreditorService(verifier, audience=audience, request=json.loads(request.read_text()))


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
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    args = ap.parse_args(argv)
    if args.demo:
        return demo()
    if not (args.trust_list and args.anchor and args.status_dir and args.audience):
        ap.error("give --trust-list, --anchor, --status-dir and --audience (or --demo)")
    try:
        service = load_service(
            args.trust_list, args.anchor, args.status_dir, args.audience, args.request
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
