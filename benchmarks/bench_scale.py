"""Scale benchmark (issue 16): a creditor's whole caseload in one register.

1. **Issue** N debt statements (default 1,000,000) into one register with group commit
   (chunks of ``--chunk`` rows: one transaction reserves the chunk, every statement is built
   and validated (:meth:`DebtStatement.from_claims`), signed as an SD-JWT VC, then one
   transaction confirms the chunk). The credentials are not kept on disk (``--out-dir`` to
   write them, one file each, with one sync per chunk as ``rodeknop issue --batch`` does);
   every ``N / --sample``-th is kept in memory for step 3. Reports rows/s, the register's
   size and the process's peak RSS.
2. **Publish** the status lists after revoking ``--revoke`` of the statements (one audited
   transaction each): time and bytes written (IETF Token Status List JWTs and W3C Bitstring
   Status List credentials).
3. **Verify** the sample as a creditor's back office does offline: the SD-JWT VC signature
   and claims, then its status from the published lists in a verified status cache.
   Reports credentials/s.

The register is a SQLite file in a fresh issuer home, or PostgreSQL with
``--register postgresql://...`` (an empty database).

Usage: python benchmarks/bench_scale.py [--rows N] [--chunk N] [--sample N]
                                        [--revoke N] [--register URL | --postgres]
                                        [--out-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from blauweknop import Issuer, Key, verify_sd_jwt
from blauweknop._register import ReserveRequest, is_postgres_url
from blauweknop._register._durable import sync_chunk, write_unsynced
from blauweknop._status import StatusListStore, list_admission
from blauweknop.debt import DebtStatement
from blauweknop.formats import format_for_option

ROOT = Path(__file__).resolve().parent.parent
CREDITOR = "urn:oin:00000001003214345000"
HOLDER_POOL = 256


def eleven_proof_bsn(n: int) -> str:
    """A fictional 9-digit number that passes the eleven-test (test range 9xxxxxxxx)."""
    base = 900_000_000 + (n * 7) % 99_999_990
    while True:
        digits = f"{base:09d}"
        total = sum(int(d) * w for d, w in zip(digits, (9, 8, 7, 6, 5, 4, 3, 2, -1), strict=True))
        if total % 11 == 0:
            return digits
        base += 1


def statement(template: dict[str, Any], i: int) -> dict[str, Any]:
    claims = json.loads(json.dumps(template))
    claims["statement_id"] = f"CJIB-SCALE-{i:08d}"
    claims["subject"]["bsn"] = eleven_proof_bsn(i)
    return claims


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def register_bytes(issuer: Issuer) -> int:
    reg = issuer.register
    url = getattr(reg, "url", None)
    if isinstance(url, str):
        row = reg._conn.execute("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0])
    p = issuer.home / "register.sqlite"
    return sum(f.stat().st_size for f in p.parent.glob("register.sqlite*"))


def issue_all(
    issuer: Issuer, rows: int, chunk: int, every: int, out: Path | None
) -> tuple[float, list[tuple[str, str, int]]]:
    """Issue ``rows`` statements; returns (seconds, sample of (text, list uri, index))."""
    template = json.loads((ROOT / "examples" / "data" / "debt-statement.json").read_text())
    enc = format_for_option("sd-jwt")
    holders = [Key.generate("ES256") for _ in range(HOLDER_POOL)]
    sample: list[tuple[str, str, int]] = []
    reg = issuer.register
    t0 = time.perf_counter()
    last = t0
    for start in range(0, rows, chunk):
        now = int(time.time())
        ids = range(start, min(rows, start + chunk))
        models = [DebtStatement.from_claims(statement(template, i)) for i in ids]
        prepared = []
        for i, m in zip(ids, models, strict=True):
            claims = m.to_claims()
            nbf, exp = issuer._validity(m, now, None)
            prepared.append((i, m, claims, holders[i % HOLDER_POOL], nbf, exp))
        profile = models[0].profile()
        reservations = reg.reserve_many(
            [
                ReserveRequest(
                    credential_id=claims["statement_id"],
                    credential_type=profile.vct,
                    credential_format=enc.id,
                    holder_thumbprint=holder.kid,
                    bsn=claims["subject"]["bsn"],
                    valid_from=nbf if nbf is not None else now,
                    valid_until=exp,
                    batch_row_key=claims["statement_id"],
                )
                for _, _, claims, holder, nbf, exp in prepared
            ]
        )
        written = []
        for (i, _m, claims, holder, nbf, exp), res in zip(prepared, reservations, strict=True):
            if isinstance(res, Exception):
                raise res
            text = enc.issue(
                profile,
                claims,
                signer=issuer.signer,
                issuer_id=issuer.issuer_id,
                holder=holder,
                iat=now,
                nbf=nbf,
                exp=exp,
                status=res,
            )
            if out is not None:
                target = out / f"{res.credential_id}.sd-jwt"
                write_unsynced(target, (text + "\n").encode())
                written.append(target)
            if i % every == 0:
                sample.append((text, res.list_uri, res.idx))
        if out is not None:
            sync_chunk(out, written)
        errors = reg.confirm_many([p[2]["statement_id"] for p in prepared])
        if any(errors):
            raise RuntimeError(errors)
        if time.perf_counter() - last > 30:
            last = time.perf_counter()
            done = ids.stop
            print(
                f"  {done:>9,} issued, {done / (last - t0):7.0f} rows/s, "
                f"peak RSS {peak_rss_mb():.0f} MB",
                flush=True,
            )
    return time.perf_counter() - t0, sample


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--sample", type=int, default=2000, help="credentials verified in step 3")
    ap.add_argument("--revoke", type=int, default=1000, help="revoked before publishing")
    ap.add_argument("--register", help="postgresql://... (empty database); default SQLite")
    ap.add_argument(
        "--postgres",
        action="store_true",
        help="a throw-away PostgreSQL cluster (tests/storage/pg.py) instead of --register",
    )
    ap.add_argument("--out-dir", type=Path, help="write every credential here (one file each)")
    ap.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = ap.parse_args()
    if args.register and not is_postgres_url(args.register):
        sys.exit("--register takes a postgresql:// URL")
    if args.postgres:
        sys.path.insert(0, str(ROOT / "tests"))
        from storage.pg import running_cluster

        with running_cluster() as cluster:
            args.register = cluster.new_database("scale")
            run(args)
        return
    run(args)


def run(args: argparse.Namespace) -> None:
    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        issuer = Issuer.init(
            work / "cjib",
            issuer_id=CREDITOR,
            name="CJIB",
            roles=["creditor"],
            status_base_uri="https://status.cjib.example/lists",
            register=args.register,
        )
        if args.out_dir:
            args.out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        every = max(1, args.rows // max(1, args.sample))
        backend = "PostgreSQL" if args.register else "SQLite"
        print(f"issuing {args.rows:,} debt statements into one {backend} register ...")
        t_issue, sample = issue_all(issuer, args.rows, args.chunk, every, args.out_dir)
        size = register_bytes(issuer)
        rss = peak_rss_mb()
        report = issuer.register.integrity_check()

        rng = random.Random(16)
        victims = rng.sample(range(args.rows), min(args.revoke, args.rows))
        t0 = time.perf_counter()
        for i in victims:
            issuer.revoke(f"CJIB-SCALE-{i:08d}", reason="debt settled", actor="bench")
        t_revoke = time.perf_counter() - t0
        pub = work / "public"
        t0 = time.perf_counter()
        files = issuer.publish_status(pub)
        t_pub = time.perf_counter() - t0
        pub_bytes = sum(f.stat().st_size for f in files)

        key = issuer.signer.public()
        cache = StatusListStore(work / "status-cache")
        now = time.time()
        admit = list_admission(keys_for=lambda _iss: [key], now=now)
        for f in files:
            if f.suffix == ".jwt":
                uri = f"https://status.cjib.example/lists/{f.name}"
                cache.put(uri, f.read_bytes(), fetched_at=now, admit=admit)
        t0 = time.perf_counter()
        revoked = 0
        for text, uri, idx in sample:
            verify_sd_jwt(text, issuer_key=key, typ="dc+sd-jwt")
            try:
                cache.check_token_status(
                    uri, idx, issuer_key=key, expected_issuer=CREDITOR, now=now + 1
                )
            except Exception:  # noqa: BLE001 - a revoked one is an expected outcome here
                revoked += 1
        t_verify = time.perf_counter() - t0

        rows = [
            ("register", backend),
            ("issued", f"{args.rows:,} in {t_issue:.1f} s: {args.rows / t_issue:,.0f} rows/s"),
            ("register size", f"{size / 1e6:,.1f} MB ({size / args.rows:.0f} bytes/row)"),
            ("peak RSS", f"{rss:,.0f} MB"),
            ("integrity check", f"ok={report.ok}, {report.credentials:,} credentials"),
            ("revoked", f"{len(victims):,} in {t_revoke:.1f} s (one transaction each)"),
            (
                "published",
                f"{len(files)} files, {pub_bytes / 1e3:,.1f} kB in {t_pub:.2f} s "
                f"({len(issuer.register.lists())} lists)",
            ),
            (
                "verified (signature + status)",
                f"{len(sample):,} in {t_verify:.2f} s: {len(sample) / t_verify:,.0f}/s "
                f"({revoked} revoked among them)",
            ),
        ]
        width = max(len(a) for a, _ in rows)
        for a, b in rows:
            print(f"{a:<{width}}  {b}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
