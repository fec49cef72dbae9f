"""``rodeknop issue --batch``: validate all rows, then issue with a progress bar; resumable."""

from __future__ import annotations

import click

from blauweknop import Issuer
from rodeknop_vc._batch import BatchReport, issue_batch, read_batch, write_report

from ._common import echo_json


def run_batch(home: str, batch_file: str, out_dir: str, *, fmt: str, as_json: bool) -> int:
    """Run a batch; returns the exit code (0 all issued, 2 some rows rejected or failed)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    issuer = Issuer.open(home)
    rows, rejected = read_batch(batch_file, issuer)
    console = Console(stderr=True)
    if not as_json:
        console.print(f"{len(rows)} valid row(s), {len(rejected)} rejected before signing")
    with Progress(TextColumn("issuing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, disable=as_json or not rows) as bar:
        task = bar.add_task("issue", total=len(rows))
        issued, done, failed = issue_batch(
            issuer, rows, out_dir, format=fmt, progress=lambda _key, _what: bar.advance(task)
        )
    report = BatchReport(issued=tuple(issued), already_done=tuple(done), rejected=tuple(rejected),
                         failed=tuple(failed))
    path = write_report(out_dir, report)
    if as_json:
        echo_json({"ok": not (rejected or failed), **report.to_json(), "report": str(path)})
    else:
        click.echo(f"issued {len(issued)}, already done {len(done)}, rejected {len(rejected)}, "
                   f"failed {len(failed)}; report: {path}")
        for r in (*rejected, *failed):
            click.echo(f"  line {r.line} ({r.row_key}): {r.message}", err=True)
    return 2 if (rejected or failed) else 0
