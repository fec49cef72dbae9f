"""Status-list benchmark: a 1,000,000-entry 2-bit list with ~1% revoked.

Measures build, sign, publish (atomic write), decode + check, the size of what a verifier
downloads, the W3C bitstring equivalent, and (optionally) the register path: issuing into a
register and publishing from it. Ratios are against one raw ES256 signature / verification
measured in the same run (DESIGN.md section 8).

Usage: python benchmarks/bench_status_list.py [--entries N] [--revoked-pct P]
                                              [--register-credentials N] [--repeat R]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from blauweknop._files import atomic_write
from blauweknop._keys import Key
from blauweknop._register import Register, publish
from blauweknop._status import (
    BitstringStatusList,
    StatusList,
    StatusType,
    sign_status_list_token,
    verify_status_list_token,
)

URI = "https://status.example/lists/1.jwt"
ISS = "urn:oin:00000001234567890000"
NOW = 1_700_000_000


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time (seconds) over ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--revoked-pct", type=float, default=1.0)
    ap.add_argument(
        "--register-credentials",
        type=int,
        default=10_000,
        help="credentials to issue and revoke in the register path (0: skip)",
    )
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = random.Random(2024)
    key = Key.generate("ES256")
    n, repeat = args.entries, args.repeat
    revoked = rng.sample(range(n), int(n * args.revoked_pct / 100))

    # baseline: raw signature operations
    msg = b"x" * 64
    sig = key.sign(msg)
    t_sign, _ = timed(lambda: [key.sign(msg) for _ in range(200)], repeat)
    t_verify, _ = timed(lambda: [key.verify(msg, sig) for _ in range(200)], repeat)
    t_sign, t_verify = t_sign / 200, t_verify / 200

    rows: list[tuple[str, float, float, str]] = []

    def build() -> StatusList:
        sl = StatusList(n, 2)
        for idx in revoked:
            sl.set(idx, StatusType.INVALID)
        return sl

    t, sl = timed(build, repeat)
    rows.append(("IETF build (set revoked entries)", t, t / t_sign, f"{len(revoked):,} set"))
    t, token = timed(
        lambda: sign_status_list_token(sl, uri=URI, issuer=ISS, signer=key, now=NOW, ttl=3600),
        repeat,
    )
    rows.append(("IETF compress + sign token", t, t / t_sign, f"{len(token):,} bytes"))
    with tempfile.TemporaryDirectory() as d:
        t, _ = timed(lambda: atomic_write(Path(d) / "1.jwt", token.encode()), repeat)
    rows.append(("IETF publish (atomic write + fsync)", t, t / t_sign, ""))
    t, verified = timed(
        lambda: verify_status_list_token(token, key=key, expected_uri=URI, now=NOW + 60), repeat
    )
    rows.append(("IETF verify + decompress token", t, t / t_verify, f"{n:,} entries"))
    probes = rng.sample(range(n), 10_000)
    t, _ = timed(lambda: [verified.status(i) for i in probes], repeat)
    rows.append(
        ("IETF check one index (per lookup)", t / len(probes), t / len(probes) / t_verify, "")
    )

    def build_w3c() -> str:
        bl = BitstringStatusList(n)
        for idx in revoked:
            bl.set(idx, 1)
        return bl.encode()

    t, encoded = timed(build_w3c, repeat)
    rows.append(("W3C build + gzip bitstring (1 bit)", t, t / t_sign, f"{len(encoded):,} chars"))
    t, _ = timed(lambda: BitstringStatusList.decode(encoded), repeat)
    rows.append(("W3C decode bitstring", t, t / t_verify, ""))

    if args.register_credentials:
        with tempfile.TemporaryDirectory() as d:
            reg = Register.open(
                Path(d) / "register.db",
                status_base_uri="https://status.example/lists",
                list_size=n,
            )
            t0 = time.perf_counter()
            for i in range(args.register_credentials):
                r = reg.reserve(f"c{i}", "DebtStatement", "sd-jwt")
                reg.confirm(r.credential_id)
            t_issue = (time.perf_counter() - t0) / args.register_credentials
            rows.append(
                (
                    "register reserve + confirm (per credential)",
                    t_issue,
                    t_issue / t_sign,
                    "2 transactions, synchronous=FULL",
                )
            )
            for i in range(args.register_credentials):
                reg.revoke(f"c{i}", "benchmark", "bench")
            t, files = timed(lambda: publish(reg, key, ISS, Path(d) / "out", NOW, 3600), repeat)
            size = files[0].path.stat().st_size
            rows.append(
                (
                    "register publish (build+sign+write)",
                    t,
                    t / t_sign,
                    f"{args.register_credentials:,} revoked, {size:,} bytes",
                )
            )
            t, _ = timed(reg.integrity_check, 1)
            rows.append(("register integrity_check", t, t / t_sign, ""))
            reg.close()

    print(
        f"\nStatus list benchmark: {n:,} entries, 2 bits, {args.revoked_pct:g}% revoked "
        f"(median of {repeat})"
    )
    print(f"baseline: ES256 sign {t_sign * 1e6:.0f} us, verify {t_verify * 1e6:.0f} us\n")
    print(f"{'operation':<46}{'time':>12}{'x raw sig':>12}  note")
    print("-" * 96)
    for name, secs, ratio, note in rows:
        shown = f"{secs * 1e3:.2f} ms" if secs >= 1e-3 else f"{secs * 1e6:.2f} us"
        print(f"{name:<46}{shown:>12}{ratio:>12.1f}  {note}")
    print(
        f"\nIETF token size: {len(token):,} bytes for {n:,} entries "
        f"({len(token) * 8 / n:.3f} bits per entry)"
    )


if __name__ == "__main__":
    main()
