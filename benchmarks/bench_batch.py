"""Batch issuance benchmark: ``rodeknop issue --batch`` over a generated CSV of N rows.

Times the real command as a subprocess (start-up, CSV validation, register transactions with
``synchronous=FULL``, signing, atomic file writes with fsync, the report), then the rerun that
finds every row done. Prints rows per second and the ratio of one row's cost to one raw
signature measured in the same run (DESIGN.md section 8).

Usage: python benchmarks/bench_batch.py [--rows N] [--format sd-jwt|di|both] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from blauweknop import Key, did_jwk

BIN = Path(sys.executable).parent
MUNICIPALITY = "urn:oin:00000001001234567000"
COLUMNS = (
    "declaration_id",
    "holder_key",
    "family_name",
    "given_names",
    "birthdate",
    "trajectory_start",
    "valid_from",
    "valid_until",
    "requested_measures",
    "executing_organisation",
    "counsellor_organisation_phone",
    "counsellor_organisation_email",
    "bsn",
    "client_reference",
)
FAMILY = ("Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer")
GIVEN = ("Eva", "Pieter", "Fatima", "Sem", "Noor", "Mohammed", "Lotte", "Daan")
MEASURES = "suspend_collection;no_additional_costs;no_garnishment;no_bailiff"


def eleven_proof_bsn(n: int) -> str:
    """A fictional 9-digit number in the 9999xxxxx test range that passes the eleven-test."""
    for last in range(10):
        digits = f"9999{n % 10_000:04d}{last}"
        total = sum(int(d) * w for d, w in zip(digits, (9, 8, 7, 6, 5, 4, 3, 2, -1), strict=True))
        if total % 11 == 0:
            return digits
    return eleven_proof_bsn(n + 1)


def write_csv(path: Path, rows: int, rng: random.Random) -> None:
    """N valid rows, each with its own holder key (did:jwk) and a window starting today."""
    today = dt.date.today()
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for i in range(rows):
            start = today - dt.timedelta(days=rng.randrange(0, 10))
            w.writerow(
                [
                    f"GM0772-RK-BENCH-{i:06d}",
                    did_jwk(Key.generate("ES256" if i % 2 else "EdDSA").public()),
                    rng.choice(FAMILY),
                    rng.choice(GIVEN),
                    dt.date(
                        rng.randrange(1950, 2005), rng.randrange(1, 13), rng.randrange(1, 29)
                    ).isoformat(),
                    start.isoformat(),
                    start.isoformat(),
                    (start + dt.timedelta(days=120)).isoformat(),
                    MEASURES,
                    "Schuldhulp Eindhoven (fictief)",
                    "040 238 6000",
                    "schuldhulp@eindhoven.example",
                    eleven_proof_bsn(i),
                    f"SHV-{i:05d}",
                ]
            )


def run(*args: str, cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    p = subprocess.run(
        [str(BIN / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return elapsed, p


def startup(cwd: Path) -> float:
    """Wall time of a command that imports the CLI and exits (median of 3)."""
    times = sorted(run("rodeknop", "--version", cwd=cwd)[0] for _ in range(3))
    return times[1]


def raw_sign_seconds() -> float:
    key = Key.generate("ES256")
    msg = b"x" * 64
    t0 = time.perf_counter()
    for _ in range(500):
        key.sign(msg)
    return (time.perf_counter() - t0) / 500


def bench(fmt: str, rows: int, work: Path) -> list[tuple[str, str]]:
    home = work / f"gem-{fmt}"
    run(
        "rodeknop",
        "init",
        "--home",
        str(home),
        "--id",
        MUNICIPALITY,
        "--name",
        "Gemeente Eindhoven",
        "--municipality-code",
        "GM0772",
        "--status-uri",
        "https://status.eindhoven.example/rk",
        cwd=work,
    )
    out = work / f"out-{fmt}"
    t_first, p = run(
        "rodeknop",
        "issue",
        "--home",
        str(home),
        "--batch",
        "batch.csv",
        "--out-dir",
        str(out),
        "--format",
        fmt,
        "--json",
        cwd=work,
    )
    report = json.loads(p.stdout)
    if len(report["issued"]) != rows:
        sys.exit(f"expected {rows} issued, got {len(report['issued'])}")
    t_rerun, p = run(
        "rodeknop",
        "issue",
        "--home",
        str(home),
        "--batch",
        "batch.csv",
        "--out-dir",
        str(out),
        "--format",
        fmt,
        "--json",
        cwd=work,
    )
    if len(json.loads(p.stdout)["already_done"]) != rows:
        sys.exit("rerun did not find every row done")
    return [
        (f"{fmt}: first run ({rows:,} rows)", f"{t_first:8.2f} s  {rows / t_first:8.1f} rows/s"),
        (f"{fmt}: rerun, all already done", f"{t_rerun:8.2f} s  {rows / t_rerun:8.1f} rows/s"),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--format", choices=["sd-jwt", "di", "both"], default="both")
    ap.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = ap.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        write_csv(work / "batch.csv", args.rows, random.Random(2026))
        t_start = startup(work)
        t_sign = raw_sign_seconds()
        table: list[tuple[str, str]] = [
            ("command start-up (rodeknop --version)", f"{t_start:8.2f} s"),
            ("raw ES256 signature", f"{t_sign * 1e3:8.3f} ms"),
        ]
        formats = ("sd-jwt", "di") if args.format == "both" else (args.format,)
        per_row: list[tuple[str, str]] = []
        for fmt in formats:
            lines = bench(fmt, args.rows, work)
            table.extend(lines)
            t_first = float(lines[0][1].split()[0])
            cost = (t_first - t_start) / args.rows
            per_row.append(
                (
                    f"{fmt}: per row, start-up excluded",
                    f"{cost * 1e3:8.2f} ms  {cost / t_sign:8.1f} x raw sign",
                )
            )
        table.extend(per_row)
        width = max(len(name) for name, _ in table)
        print(f"{'operation':<{width}}  result")
        for name, value in table:
            print(f"{name:<{width}}  {value}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
