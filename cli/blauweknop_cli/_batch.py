"""``rodeknop issue --batch``: validate all rows, then issue with a progress bar; resumable."""

from __future__ import annotations

import sys

import click

from blauweknop import Issuer
from rodeknop_vc import BatchReport, RejectedRow, issue_batch, read_batch, write_report

from ._common import EXIT_INTERRUPTED, CliError, echo_json


def _safe(text: str) -> str:
    """Row data echoed to a terminal: control characters shown escaped, never interpreted."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def _row_line(r: RejectedRow) -> str:
    """``line 5  GM0772-RK-2026-0903  bsn: fails the eleven-test`` (field first, once)."""
    key = _safe(r.row_key) if r.row_key else "(no declaration_id)"
    message = _safe(r.message)
    if r.field and not message.startswith(f"{r.field}:") and f" {r.field}:" not in message:
        message = f"{r.field}: {message}"
    return f"  line {r.line:<5} {key:<24} {message}"


def run_batch(
    home: str,
    batch_file: str,
    out_dir: str,
    *,
    fmt: str,
    as_json: bool,
    register_url: str | None = None,
) -> int:
    """Run a batch; returns the exit code (0 all issued, 2 some rows rejected or failed)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    issuer = Issuer.open(home, register=register_url)
    rows, rejected = read_batch(batch_file, issuer, format=fmt)
    console = Console(stderr=True, highlight=False)
    if not as_json:
        click.echo(
            f"{batch_file}: {len(rows)} valid row(s), {len(rejected)} rejected before signing",
            err=True,
        )
        if rejected:
            click.echo(
                "rejected (nothing signed for these rows; correct them in the CSV and run "
                "the same command again):",
                err=True,
            )
            for r in rejected:
                click.echo(_row_line(r), err=True)
    try:
        with Progress(
            TextColumn("issuing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=as_json or not rows,
        ) as bar:
            task = bar.add_task("issue", total=len(rows))
            issued, done, failed = issue_batch(
                issuer, rows, out_dir, format=fmt, progress=lambda _key, _what: bar.advance(task)
            )
        report = BatchReport(
            issued=tuple(issued),
            already_done=tuple(done),
            rejected=tuple(rejected),
            failed=tuple(failed),
        )
        path = write_report(out_dir, report)
    except KeyboardInterrupt:
        # The register is consistent after an interruption at any point; say how to go on.
        message = (
            "interrupted: run the same command again to resume; rows already issued "
            "are skipped, none is issued twice"
        )
        click.echo(message, err=True)
        if as_json:
            CliError("interrupted", message, exit_code=EXIT_INTERRUPTED, as_json=True).show()
        sys.exit(EXIT_INTERRUPTED)
    if as_json:
        outcome = (
            {
                "code": "batch_incomplete",
                "message": f"{len(rejected)} row(s) rejected, {len(failed)} failed; see {path}",
            }
            if rejected or failed
            else {}
        )
        echo_json(
            {"ok": not (rejected or failed), **outcome, **report.to_json(), "report": str(path)}
        )
    else:
        if failed:
            click.echo("failed while issuing (the reason is given per row):", err=True)
            for r in failed:
                click.echo(_row_line(r), err=True)
        click.echo(
            f"issued {len(issued)}, already done {len(done)}, rejected {len(rejected)}, "
            f"failed {len(failed)}; credentials in {out_dir}; report: {path}"
        )
    return 2 if (rejected or failed) else 0
