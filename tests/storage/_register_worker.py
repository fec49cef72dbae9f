"""Subprocess for the register's crash and backup tests: issues credentials in a loop until
killed (or until ``--count`` is reached), using the two-phase protocol.

Usage: python _register_worker.py DB_OR_URL RUN_ID [--count N] [--chunk N]

``DB_OR_URL``: a SQLite file or a ``postgresql://`` URL. ``--chunk N``: reserve and confirm
N rows at a time (group commit) instead of one by one.

Prints ``ready`` once the register is open, then one line per confirmed credential.
"""

from __future__ import annotations

import argparse
import sys

from blauweknop._register import ReserveRequest, open_register

BSN_KEY = bytes(range(32))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("run")
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--chunk", type=int, default=0)
    args = ap.parse_args()
    reg = open_register(
        args.db, bsn_key=BSN_KEY, status_base_uri="https://status.example/lists", list_size=40
    )
    print("ready", flush=True)
    i = 0
    while args.chunk and (not args.count or i < args.count):
        n = args.chunk if not args.count else min(args.chunk, args.count - i)
        keys = [f"{args.run}:{i + k}" for k in range(n)]
        got = reg.reserve_many(
            [
                ReserveRequest(
                    credential_id=f"cred-{key}",
                    credential_type="DebtStatement",
                    credential_format="sd-jwt",
                    batch_row_key=key,
                    bsn=f"{100000000 + i + k:09d}",
                )
                for k, key in enumerate(keys)
            ]
        )
        assert all(not isinstance(g, Exception) for g in got), got
        assert reg.confirm_many([g.credential_id for g in got]) == [None] * n  # type: ignore[union-attr]
        for k in range(n):
            print(i + k, flush=True)
        i += n
    while not args.count or i < args.count:
        key = f"{args.run}:{i}"
        r = reg.reserve(
            f"cred-{key}", "DebtStatement", "sd-jwt", batch_row_key=key, bsn=f"{100000000 + i:09d}"
        )
        if r.state == "pending":
            reg.confirm(r.credential_id)
        if i % 7 == 3:
            reg.revoke(r.credential_id, "test revocation", "worker")
        elif i % 11 == 5:
            reg.suspend(r.credential_id, "test suspension", "worker")
        print(i, flush=True)
        i += 1
    reg.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
