"""OpenID4VCI benchmark: time from offer to stored credential, over real HTTP on loopback.

One process: the issuer service (``blauweknop.oid4vci.asgi_app``) under uvicorn on
127.0.0.1 in a thread, our wallet client (httpx) in the main thread. Per run: the counsellor
creates an offer (register write), the wallet resolves it, fetches both metadata documents,
redeems the pre-authorized code with the PIN (DPoP), gets a ``c_nonce``, sends the ``jwt``
proof(s), receives the credential(s), verifies and stores them (encrypted wallet write), and
sends the notification. Reported: the median and the 90th percentile of that whole span per
encoding and batch size, and for scale one raw ES256 signature measured in the same run
(DESIGN.md section 8). Nothing is asserted.

Usage: python benchmarks/bench_oid4vci.py [--repeat R]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from blauweknop import Issuer, Key, TrustList, Wallet, build_trust_list
from blauweknop.debt import DebtStatement
from blauweknop.oid4vci import IssuerService, asgi_app

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.live import serve  # noqa: E402  (the tests' loopback server helper)

NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC).timestamp()
CJIB = "urn:oin:00000001003214345000"
PASSPHRASE = "benchmark only"  # noqa: S105 - a throw-away wallet in a temporary directory


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp())
    issuer = Issuer.init(
        work / "cjib",
        issuer_id=CJIB,
        name="CJIB",
        roles=["creditor"],
        status_base_uri="https://status.cjib.example/bk",
    )
    anchor = Key.generate()
    trust = TrustList.verify(
        build_trust_list([issuer.trust_entry()], anchor, now=NOW), anchor.public(), now=NOW
    )
    data = json.loads((ROOT / "examples" / "data" / "debt-statement.json").read_text())
    port = _port()
    svc = IssuerService.for_home(
        work / "cjib", issuer_url=f"http://127.0.0.1:{port}", clock=lambda: NOW
    )
    key = Key.generate()
    t0 = time.perf_counter()
    for _ in range(200):
        key.sign(b"x" * 64)
    sig = (time.perf_counter() - t0) / 200
    rows = []
    n = 0
    with (
        serve(asgi_app(svc), port=port),
        httpx.Client() as http,
        Wallet.create(work / "wallet", passphrase=PASSPHRASE, scrypt_n=2**12) as wallet,
    ):
        for fmt, copies in (("sd-jwt", 1), ("di", 1), ("sd-jwt", 5)):
            times = []
            for _ in range(args.repeat + 1):
                n += 1
                model = DebtStatement.from_claims({**data, "statement_id": f"CJIB-BENCH-{n:05d}"})
                start = time.perf_counter()
                link = svc.create_offer(model, format=fmt)
                got = wallet.receive(
                    link.uri,
                    trust_list=trust,
                    tx_code=link.tx_code,
                    copies=copies,
                    http=http,
                    now=NOW,
                )
                times.append(time.perf_counter() - start)
                assert len(got) == copies
            times = times[1:]  # the first run warms up connections and caches
            times.sort()
            rows.append((fmt, copies, statistics.median(times), times[int(0.9 * (len(times) - 1))]))
    print(f"OpenID4VCI offer -> stored credential, loopback, {args.repeat} runs each")
    print(f"{'encoding':10} {'copies':>6} {'median ms':>10} {'p90 ms':>8} {'x ES256 sign':>13}")
    for fmt, copies, med, p90 in rows:
        print(f"{fmt:10} {copies:>6} {med * 1000:>10.1f} {p90 * 1000:>8.1f} {med / sig:>13.0f}")
    print(f"(one raw ES256 signature: {sig * 1e6:.0f} us)")


if __name__ == "__main__":
    main()
