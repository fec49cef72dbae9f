"""Batch issuance benchmark: ``rodeknop issue --batch`` over a generated CSV of N rows, on
both register backends (SQLite in the home; PostgreSQL, 1 and 2 issuing processes sharing
one register) and both formats.

Two figures per configuration:

* **issuing rows/s** -- the issuing phase alone (:func:`rodeknop_vc.issue_batch`: register
  transactions with group commit, signing, file writes, one sync per chunk), timed inside
  each worker process; with 2 workers, all rows over the time from the first worker's start
  to the last one's end. This is the figure the targets of issue 16 are stated for.
* **rows/CPU-s** -- the same rows per CPU-second of the issuing processes: what one core
  does when it is not shared (the PostgreSQL server's own CPU is not counted);
* **command rows/s** -- the real command end to end as a subprocess (interpreter start-up,
  reading and validating every row, the issuing phase, the report).

Plus the rate of signing one credential alone (no register, no file) per format, and the
rerun that finds every row done.

PostgreSQL: ``--pg-url postgresql://...`` (an empty database the benchmark may fill), or a
throw-away cluster started from the server binaries (tests/storage/pg.py; Debian's
``postgresql`` package); without either, the PostgreSQL rows are skipped.

Usage: python benchmarks/bench_batch.py [--rows N] [--format sd-jwt|di|both]
                                        [--backend sqlite|postgres|both] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from blauweknop import Key, did_jwk

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
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
#: Issue 16's targets.
TARGET_SQLITE = 1500.0
TARGET_PG2_FACTOR = 1.6
TARGET_DI_SHARE = 0.40


def eleven_proof_bsn(n: int) -> str:
    """A fictional 9-digit number in the 9999xxxxx test range that passes the eleven-test."""
    for last in range(10):
        digits = f"9999{n % 10_000:04d}{last}"
        total = sum(int(d) * w for d, w in zip(digits, (9, 8, 7, 6, 5, 4, 3, 2, -1), strict=True))
        if total % 11 == 0:
            return digits
    return eleven_proof_bsn(n + 1)


def write_csv(path: Path, rows: range, rng: random.Random) -> None:
    """Valid rows, each with its own holder key (did:jwk) and a window starting today."""
    today = dt.date.today()
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for i in rows:
            start = today - dt.timedelta(days=rng.randrange(0, 10))
            w.writerow(
                [
                    f"GM0772-RK-BENCH-{i:07d}",
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


def init_home(home: Path, register: str | None, cwd: Path) -> None:
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
        *(["--register", register] if register else []),
        cwd=cwd,
    )


def second_machine(home: Path, copy: Path) -> None:
    """A second issuing machine of the same organisation: a copy of the home (config with
    the register URL, keys, register.secret), its own lock and fence."""
    shutil.copytree(home, copy)
    for name in ("issuer.lock", "register.fence"):
        with contextlib.suppress(FileNotFoundError):
            (copy / name).unlink()


# -- the worker: one issuing process, issuing phase timed inside ----------------------------------
def worker(home: str, batch: str, out: str, fmt: str, go: str) -> None:
    """Read and validate ``batch``, wait until the file ``go`` exists (all workers start
    issuing together), issue, print ``{"start", "end", "issued"}`` as JSON."""
    from blauweknop import Issuer
    from rodeknop_vc import issue_batch, read_batch

    issuer = Issuer.open(home)
    rows, rejected = read_batch(batch, issuer, format=fmt)
    assert not rejected, rejected[:3]
    print("ready", flush=True)
    while not Path(go).exists():
        time.sleep(0.001)
    start, cpu = time.time(), time.process_time()
    issued, _done, failed = issue_batch(issuer, rows, out, format=fmt)
    end, cpu = time.time(), time.process_time() - cpu
    assert not failed, failed[:3]
    print(json.dumps({"start": start, "end": end, "cpu": cpu, "issued": len(issued)}), flush=True)


def phase(
    homes: list[Path], batches: list[Path], fmt: str, work: Path, tag: str
) -> tuple[float, float]:
    """Issuing-phase rows/s of len(homes) concurrent worker processes (wall clock), and rows
    per CPU-second of the issuing processes (a loaded machine slows the first, not the
    second; a PostgreSQL server's own CPU is not in it)."""
    go = work / f"go-{tag}"
    procs = []
    for n, (home, batch) in enumerate(zip(homes, batches, strict=True)):
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    str(home),
                    str(batch),
                    str(work / f"out-{tag}-{n}"),
                    fmt,
                    str(go),
                ],
                stdout=subprocess.PIPE,
                text=True,
                cwd=work,
            )
        )
    for p in procs:
        assert p.stdout is not None
        line = p.stdout.readline().strip()
        if line != "ready":
            sys.exit(f"worker failed to start: {line!r}")
    go.touch()
    results = []
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            sys.exit(f"worker failed ({p.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    issued = sum(r["issued"] for r in results)
    span = max(r["end"] for r in results) - min(r["start"] for r in results)
    return issued / span, issued / sum(r["cpu"] for r in results)


def command(home: Path, batch: Path, out: Path, fmt: str, work: Path) -> tuple[float, float]:
    """End-to-end wall time of the command, and of the rerun that finds every row done."""
    args = ("issue", "--home", str(home), "--batch", str(batch), "--out-dir", str(out))
    t_first, p = run("rodeknop", *args, "--format", fmt, "--json", cwd=work)
    rows = len(json.loads(p.stdout)["issued"])
    t_rerun, p = run("rodeknop", *args, "--format", fmt, "--json", cwd=work)
    if len(json.loads(p.stdout)["already_done"]) != rows:
        sys.exit("rerun did not find every row done")
    return t_first, t_rerun


def commands_parallel(
    homes: list[Path], batches: list[Path], fmt: str, work: Path, tag: str
) -> float:
    """End-to-end wall time of len(homes) commands started together."""
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                str(BIN / "rodeknop"),
                "issue",
                "--home",
                str(h),
                "--batch",
                str(b),
                "--out-dir",
                str(work / f"cmd-{tag}-{n}"),
                "--format",
                fmt,
                "--json",
            ],
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for n, (h, b) in enumerate(zip(homes, batches, strict=True))
    ]
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            sys.exit(f"command failed: {err.decode()[-2000:]}")
    return time.perf_counter() - t0


def signing_rate(fmt: str, work: Path, n: int) -> float:
    """Credentials per second when signing one declaration again and again (no register,
    no file): the single-credential signing rate of the format."""
    from blauweknop import Issuer
    from blauweknop._register import Reservation
    from blauweknop.formats import format_for_option
    from rodeknop_vc import read_batch

    home = work / f"sign-{fmt}"
    init_home(home, None, work)
    issuer = Issuer.open(home)
    rows, _ = read_batch(work / "batch-a.csv", issuer, format=fmt)
    row = rows[0]
    enc = format_for_option(fmt)
    res = Reservation(
        credential_id=row.key,
        list_id=1,
        list_uri="https://status.eindhoven.example/rk/1.jwt",
        idx=7,
        bits=2,
        state="pending",
        resumed=False,
    )
    holder = Key.from_jwk(row.holder_jwk)
    claims = row.declaration.to_claims()
    profile = row.declaration.profile()
    now = int(time.time())
    t0 = time.perf_counter()
    for _ in range(n):
        enc.issue(
            profile,
            claims,
            signer=issuer.signer,
            issuer_id=issuer.issuer_id,
            holder=holder,
            iat=now,
            nbf=None,
            exp=now + 86400,
            status=res,
        )
    return n / (time.perf_counter() - t0)


@contextlib.contextmanager
def postgres(url: str | None) -> Iterator[Any]:
    """``new_database()`` factory: on ``url``'s server, or a throw-away cluster."""
    if url:

        class Given:
            def new_database(self) -> str:
                return url

        yield Given()
        return
    sys.path.insert(0, str(ROOT / "tests"))
    from storage.pg import find_bindir, running_cluster

    if find_bindir() is None:
        yield None
        return
    with running_cluster() as cluster:
        yield cluster


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--rows", type=int, default=3000)
    ap.add_argument("--format", choices=["sd-jwt", "di", "both"], default="both")
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--pg-url", help="an empty PostgreSQL database to use (one configuration)")
    ap.add_argument("--keep", type=Path, help="work in this directory and keep it")
    ap.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = args.rows
    formats = ("sd-jwt", "di") if args.format == "both" else (args.format,)
    half = rows // 2
    try:
        rng = random.Random(2026)
        write_csv(work / "batch.csv", range(rows), rng)
        write_csv(work / "batch-a.csv", range(half), random.Random(1))
        write_csv(work / "batch-b.csv", range(half, rows), random.Random(2))
        table: list[tuple[str, ...]] = []
        rate: dict[tuple[str, str, int], float] = {}
        sign: dict[str, float] = {}
        for fmt in formats:
            sign[fmt] = signing_rate(fmt, work, 300 if fmt == "sd-jwt" else 60)
        n = 0
        if args.backend in ("sqlite", "both"):
            for fmt in formats:
                n += 1
                home = work / f"h{n}"
                init_home(home, None, work)
                r, r_cpu = phase([home], [work / "batch.csv"], fmt, work, f"p{n}")
                home2 = work / f"h{n}c"
                init_home(home2, None, work)
                t_cmd, t_rerun = command(home2, work / "batch.csv", work / f"cmd{n}", fmt, work)
                rate[("sqlite", fmt, 1)] = r
                cmd, rerun = f"{rows / t_cmd:8.0f}", f"{rows / t_rerun:8.0f}"
                table.append(("sqlite", "1", fmt, f"{r:8.0f}", f"{r_cpu:8.0f}", cmd, rerun))
        if args.backend in ("postgres", "both"):
            with postgres(args.pg_url) as pg:
                if pg is None:
                    print("(PostgreSQL skipped: apt-get install postgresql, or --pg-url)")
                for fmt in formats if pg is not None else ():
                    for workers in (1, 2):
                        if args.pg_url and (fmt, workers) != (formats[0], 1):
                            continue  # a given database holds one configuration
                        n += 1
                        url = pg.new_database()
                        home = work / f"h{n}"
                        init_home(home, url, work)
                        homes = [home]
                        batches = [work / "batch.csv"]
                        if workers == 2:
                            second_machine(home, work / f"h{n}b")
                            homes.append(work / f"h{n}b")
                            batches = [work / "batch-a.csv", work / "batch-b.csv"]
                        r, r_cpu = phase(homes, batches, fmt, work, f"p{n}")
                        rate[("postgres", fmt, workers)] = r
                        # the commands, end to end, on a second fresh database
                        url2 = pg.new_database() if not args.pg_url else None
                        cmd = "-"
                        if url2:
                            hc = work / f"h{n}c"
                            init_home(hc, url2, work)
                            hcs = [hc]
                            if workers == 2:
                                second_machine(hc, work / f"h{n}cb")
                                hcs.append(work / f"h{n}cb")
                            t = commands_parallel(hcs, batches, fmt, work, f"c{n}")
                            cmd = f"{rows / t:8.0f}"
                        table.append(
                            ("postgres", str(workers), fmt, f"{r:8.0f}", f"{r_cpu:8.0f}", cmd, "-")
                        )
        head = (
            "backend",
            "procs",
            "format",
            "issuing rows/s",
            "rows/CPU-s",
            "command rows/s",
            "rerun rows/s",
        )
        widths = [max(len(str(r[i])) for r in [head, *table]) for i in range(len(head))]
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"{rows:,} rows; {os.cpu_count()} CPUs; load average {load}")
        for r in [head, *table]:
            print("  ".join(str(c).rjust(w) for c, w in zip(r, widths, strict=True)))
        print()
        for fmt, s in sign.items():
            print(f"signing alone, {fmt}: {s:8.0f} credentials/s (one credential, no register)")
        print()
        print("targets (issuing phase):")
        if ("sqlite", "sd-jwt", 1) in rate:
            r = rate[("sqlite", "sd-jwt", 1)]
            ok = "met" if r >= TARGET_SQLITE else "NOT met"
            print(f"  SQLite, 1 process, sd-jwt >= {TARGET_SQLITE:.0f} rows/s: {r:.0f} ({ok})")
            if ("postgres", "sd-jwt", 2) in rate:
                p2 = rate[("postgres", "sd-jwt", 2)]
                ok = "met" if p2 >= TARGET_PG2_FACTOR * r else "NOT met"
                print(
                    f"  PostgreSQL, 2 processes >= {TARGET_PG2_FACTOR}x SQLite: "
                    f"{p2:.0f} = {p2 / r:.2f}x ({ok})"
                )
        for backend in ("sqlite", "postgres"):
            if (backend, "di", 1) in rate and "di" in sign:
                share = rate[(backend, "di", 1)] / sign["di"]
                ok = "met" if share >= TARGET_DI_SHARE else "NOT met"
                print(
                    f"  {backend}, di >= {TARGET_DI_SHARE:.0%} of its signing rate: "
                    f"{share:.0%} ({ok})"
                )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
