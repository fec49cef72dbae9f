"""OpenID4VP request -> verified result on loopback: the whole exchange over real HTTP.

One round: the creditor creates a request (``VerifierService.create_request``), the wallet
fetches the signed request object (``POST request_uri`` with ``wallet_nonce``), verifies the JAR
and its x5c chain, checks the verifier's registration, plans and presents (key binding),
encrypts (ECDH-ES + A128GCM) and posts the response; the verifier decrypts, verifies every
presentation (trust list, status cache, holder binding, DCQL answered), runs the hold
decision and completes the session; the round ends when the back office reads the result.
uvicorn serves the verifier on 127.0.0.1; the wallet uses one httpx client (keep-alive).

    .venv/bin/python benchmarks/bench_oid4vp.py [--rounds N]

Prints the median and 95th percentile per encoding (SD-JWT VC, W3C ecdsa-sd-2023, mixed).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from blauweknop.oid4vp import verifier_app  # noqa: E402
from tests.live import _free_port, serve  # noqa: E402
from tests.oid4vp.test_oid4vp_flow import CASES  # noqa: E402
from tests.oid4vp.world import build_world  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        world = build_world(Path(tmp), real_clock=True)
        port = _free_port()
        service = world.service(base_url=f"http://127.0.0.1:{port}", clock=time.time)
        rows = []
        with serve(verifier_app(service), port=port), httpx.Client(timeout=30) as client:
            responder = world.responder(client=client, clock=time.time)
            for case in ("sd-jwt", "w3c-di", "mixed"):
                dcql = CASES[case]()
                times = []
                for i in range(args.rounds + 2):
                    t0 = time.perf_counter()
                    handle = service.create_request(dcql)
                    received = responder.fetch(handle.wallet_url)
                    responder.respond(received, consent=lambda r, p: True, follow_redirect=False)
                    out = service.result(handle.session_id)
                    elapsed = time.perf_counter() - t0
                    assert out["status"] == "done", out
                    if i >= 2:  # two warm-up rounds
                        times.append(elapsed * 1000)
                times.sort()
                p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
                rows.append((case, statistics.median(times), p95))
        world.wallet.close()
    print(f"OpenID4VP request -> verified result on loopback, {args.rounds} rounds each")
    print(f"{'encoding':<10} {'median ms':>10} {'p95 ms':>10}")
    for case, med, p95 in rows:
        print(f"{case:<10} {med:>10.1f} {p95:>10.1f}")


if __name__ == "__main__":
    main()
