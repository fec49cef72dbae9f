"""Subprocess for the register's crash and backup tests: issues credentials in a loop until
killed (or until ``--count`` is reached), using the two-phase protocol.

Usage: python _register_worker.py DB RUN_ID [--count N]

Prints ``ready`` once the register is open, then one line per confirmed credential.
"""

from __future__ import annotations

import argparse
import sys

from blauweknop._register import Register

BSN_KEY = bytes(range(32))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("run")
    ap.add_argument("--count", type=int, default=0)
    args = ap.parse_args()
    reg = Register.open(
        args.db, bsn_key=BSN_KEY, status_base_uri="https://status.example/lists", list_size=40
    )
    print("ready", flush=True)
    i = 0
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
