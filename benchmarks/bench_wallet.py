"""Wallet benchmark: import into, plan and present from a wallet of ~1,000 (or 10,000)
credentials.

The wallet holds one Rode Knop declaration and debt statements from ``--creditors`` creditors
(default 50, ~20 statements each: a history in which only each creditor's newest statement is
active; ``--creditors 999`` makes every statement active). Statements are the example
statement re-issued with other creditors, statement ids and balance dates, signed with the
low-level SD-JWT VC issuer (no register), and imported with ``Wallet.add_many`` (full
verification, one encrypted write; linear in the number of credentials). Issue 16's target:
with ``--credentials 10000`` the import stays linear and ``plan`` stays under 100 ms.

Reported: median wall time of ``plan`` and ``present`` for the hold-and-totals request
(examples/data/requests/hold-and-totals.json), and for context the import, ``open``,
``credentials``, ``overview`` and the verifier's check of the resulting ``vp_token``; ratios
are against one raw ES256 signature / verification measured in the same run (DESIGN.md
section 8). Nothing is asserted.

Usage: python benchmarks/bench_wallet.py [--credentials N] [--creditors C] [--repeat R]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from blauweknop import (
    DEBT_STATEMENT_VCT,
    RODE_KNOP_VCT,
    Key,
    TrustList,
    Verifier,
    Wallet,
    build_trust_list,
    get_profile,
)
from blauweknop._sdjwt_vc import issue_sd_jwt_vc

ROOT = Path(__file__).resolve().parents[1]
PASSPHRASE = "benchmark only"  # noqa: S105 - a throw-away wallet in a temporary directory
DATA = ROOT / "examples" / "data"
NOW = int(dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC).timestamp())
GEM = "urn:oin:00000001001234567000"
AUD = "urn:oin:00000001003214345000"


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time (seconds) over ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def creditor_id(i: int) -> str:
    return f"urn:oin:{90000000000000000000 + i:020d}"


def build_credentials(
    n: int, creditors: int, holder: dict[str, str]
) -> tuple[list[str], list[dict[str, Any]], Key]:
    """``n`` SD-JWT VCs (one declaration, the rest statements) and the trust entries."""
    keys = [Key.generate() for _ in range(creditors)]
    gem_key = Key.generate()
    entries = [
        {
            "id": GEM,
            "name": "Gemeente Eindhoven",
            "roles": ["municipality"],
            "jwks": {"keys": [gem_key.public_jwk()]},
        },
    ] + [
        {
            "id": creditor_id(i),
            "name": f"Schuldeiser {i:03d}",
            "roles": ["creditor"],
            "jwks": {"keys": [k.public_jwk()]},
        }
        for i, k in enumerate(keys)
    ]
    decl = json.loads((DATA / "rode-knop-declaration.json").read_text())
    nbf = int(dt.datetime(2026, 11, 16, tzinfo=dt.UTC).timestamp())
    texts = [
        issue_sd_jwt_vc(
            get_profile(RODE_KNOP_VCT),
            decl,
            issuer_id=GEM,
            signer=gem_key,
            holder_jwk=holder,
            iat=NOW,
            exp=NOW + 120 * 86400,
            nbf=nbf,
        )
    ]
    base = json.loads((DATA / "debt-statement.json").read_text())
    profile = get_profile(DEBT_STATEMENT_VCT)
    for j in range(n - 1):
        c = j % creditors
        age = j // creditors  # 0 = the newest statement of that creditor
        data = json.loads(json.dumps(base))
        data["creditor"] = {
            "name": f"Schuldeiser {c:03d}",
            "oin": creditor_id(c)[8:],
            "code": f"S{c:03d}",
        }
        data["statement_id"] = f"S{c:03d}-{j:06d}"
        balance = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC) - dt.timedelta(days=7 * age)
        data["balance_at"] = balance.isoformat()
        texts.append(
            issue_sd_jwt_vc(
                profile,
                data,
                issuer_id=creditor_id(c),
                signer=keys[c],
                holder_jwk=holder,
                iat=NOW - 7 * 86400 * age,
                exp=NOW + 30 * 86400,
            )
        )
    return texts, entries, Key.generate()


def bulk_import(wallet: Wallet, texts: list[str], trust: TrustList) -> None:
    """``Wallet.add_many``: every credential verified as ``Wallet.add`` does, duplicates and
    superseded statements found through the wallet's index, one encrypted write."""
    wallet.add_many(texts, trust_list=trust, now=NOW)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--credentials", type=int, default=1000)
    ap.add_argument("--creditors", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument(
        "--public-import",
        action="store_true",
        help="import with Wallet.add in a loop inside one transaction (also linear now)",
    )
    args = ap.parse_args()
    repeat = args.repeat

    key = Key.generate("ES256")
    msg = b"x" * 64
    sig = key.sign(msg)
    t_sign, _ = timed(lambda: [key.sign(msg) for _ in range(200)], 3)
    t_verify, _ = timed(lambda: [key.verify(msg, sig) for _ in range(200)], 3)
    t_sign, t_verify = t_sign / 200, t_verify / 200

    request = json.loads((DATA / "requests" / "hold-and-totals.json").read_text())
    rows: list[tuple[str, float, float, str]] = []
    with tempfile.TemporaryDirectory() as d:
        home = Path(d) / "wallet"
        wallet = Wallet.create(home, passphrase=PASSPHRASE, scrypt_n=2**10)
        holder = wallet.holder_key().public_jwk(with_kid=False)
        t0 = time.perf_counter()
        texts, entries, anchor = build_credentials(args.credentials, args.creditors, holder)
        t_issue = time.perf_counter() - t0
        trust = TrustList.verify(
            build_trust_list(entries, anchor, now=NOW), anchor.public(), now=NOW
        )

        t0 = time.perf_counter()
        if args.public_import:
            with wallet._store.transaction():  # one encrypted write for the whole import
                for text in texts[:-1]:
                    wallet.add(text, trust_list=trust, now=NOW)
            label = f"import {len(texts) - 1:,} with Wallet.add (one write)"
        else:
            bulk_import(wallet, texts[:-1], trust)
            label = f"Wallet.add_many {len(texts) - 1:,} (verified, one write)"
        t_import = time.perf_counter() - t0
        rows.append((label, t_import, t_import / len(texts) / t_verify, "ratio per credential"))
        t, _ = timed(lambda: wallet.add(texts[-1], trust_list=trust, now=NOW), 1)
        rows.append(
            (
                "Wallet.add of one more (verify + write)",
                t,
                t / t_verify,
                "the citizen's everyday import",
            )
        )
        wallet.close()
        size = (home / "wallet.bkw").stat().st_size

        t, wallet = timed(lambda: Wallet.open(home, passphrase=PASSPHRASE), 1)
        rows.append(("open (scrypt n=2**10 + decrypt)", t, t / t_verify, f"{size:,} bytes on disk"))
        creds = wallet.credentials(now=NOW)
        states: dict[str, int] = {}
        for c in creds:
            states[c.state] = states.get(c.state, 0) + 1
        t, _ = timed(lambda: wallet.credentials(now=NOW), repeat)
        rows.append(
            (
                "credentials()",
                t,
                t / t_verify,
                ", ".join(f"{v} {k}" for k, v in sorted(states.items())),
            )
        )
        today = dt.datetime.fromtimestamp(NOW, dt.UTC).date()
        t, ov = timed(lambda: wallet.overview(today=today), repeat)
        rows.append(("overview()", t, t / t_verify, f"{len(ov.creditors)} creditor lines"))

        t_plan, plan = timed(lambda: wallet.plan(request, now=NOW), repeat)
        n_pres = sum(len(v) for v in plan.presentations().values())
        rows.append(
            ("plan(hold-and-totals)", t_plan, t_plan / t_verify, f"{n_pres} presentations planned")
        )
        t_present, vp = timed(
            lambda: wallet.present(plan, nonce="bench-nonce", audience=AUD, now=NOW), repeat
        )
        rows.append(
            (
                "present(plan)",
                t_present,
                t_present / t_sign,
                f"{t_present / max(n_pres, 1) * 1e3:.2f} ms per presentation",
            )
        )
        wallet.close()

        if n_pres <= 64:  # the verifier's default limit of presentations per vp_token
            verifier = Verifier(trust, allow_missing_status=True)
            t, res = timed(
                lambda: verifier.verify(
                    vp, nonce="bench-nonce", audience=AUD, request=request, now=NOW
                ),
                3,
            )
            rows.append(
                (
                    "verifier.verify(vp_token) [no status]",
                    t,
                    t / t_verify,
                    f"{len(res.credentials)} credentials",
                )
            )

    print(
        f"wallet: {len(texts):,} credentials, {args.creditors} creditors; "
        f"building them took {t_issue:.1f} s"
    )
    print(
        f"raw ES256: sign {t_sign * 1e6:.0f} us, verify {t_verify * 1e6:.0f} us "
        f"(median of {repeat} runs per operation below)\n"
    )
    print(f"{'operation':<44} {'time':>11} {'ratio':>9}  notes")
    for name, t, ratio, note in rows:
        print(f"{name:<44} {t * 1e3:>8.1f} ms {ratio:>8.0f}x  {note}")


if __name__ == "__main__":
    main()
