"""Status index allocation while one status list fills up (no signing, no files).

Reserves ``--rows`` credentials in chunks of 512 with ``Register.reserve_many`` on a fresh
SQLite register (default list size 131,072) and prints the rate per 16,384 rows, so the cost
of the last, nearly full part of a list shows: a list fills from random draws until draws
keep missing, then from its kept free indices.

Usage: python benchmarks/bench_allocation.py [--rows N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from blauweknop._register import ReserveRequest, open_register
from blauweknop._register._bsn import generate_bsn_key

CHUNK = 512
REPORT_EVERY = 32  # chunks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=140_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bk-alloc-") as d:
        reg = open_register(
            Path(d) / "register.sqlite",
            bsn_key=generate_bsn_key(),
            status_base_uri="https://status.example/bk",
        )
        start = last = time.perf_counter()
        for first in range(0, args.rows, CHUNK):
            reg.reserve_many(
                [
                    ReserveRequest(
                        credential_id=f"c{i}", credential_type="T", credential_format="sd-jwt"
                    )
                    for i in range(first, min(args.rows, first + CHUNK))
                ]
            )
            if (first // CHUNK) % REPORT_EVERY == REPORT_EVERY - 1:
                now = time.perf_counter()
                rate = CHUNK * REPORT_EVERY / (now - last)
                print(f"{first + CHUNK:>9,} reserved  {rate:>9,.0f} rows/s", flush=True)
                last = now
        total = time.perf_counter() - start
        print(f"{args.rows:,} reservations in {total:.1f} s: {args.rows / total:,.0f} rows/s")
        reg.close()


if __name__ == "__main__":
    main()
