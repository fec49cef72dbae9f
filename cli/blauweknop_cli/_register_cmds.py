"""``blauweknop reconcile`` / ``rodeknop reconcile``: bring a register restored from a
backup back into service (docs/issuing-organisation.md, "Restoring a backup")."""

from __future__ import annotations

import sys
from typing import Any

import click

from blauweknop import Issuer

from ._common import echo_json, handle_errors

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def reconcile_command(program: str) -> click.Command:
    """The ``reconcile`` command; ``program`` is how the operator calls it (for the hints)."""

    @click.command("reconcile", context_settings=CONTEXT)
    @click.option(
        "--home", required=True, type=click.Path(file_okay=False), help="Issuer home directory."
    )
    @click.option(
        "--published",
        "published",
        type=click.Path(file_okay=False),
        help="Where the status lists were last published (status publish --out-dir), or a "
        "copy of what the web server serves.",
    )
    @click.option(
        "--no-published",
        is_flag=True,
        help="No published lists are available: revocations made after the backup are lost "
        "and must be made again.",
    )
    @click.option("--check", is_flag=True, help="Only say whether the register needs reconciling.")
    @click.option(
        "--actor", default="operator", show_default=True, help="Who (kept in the audit trail)."
    )
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @handle_errors()
    def cmd(
        home: str,
        published: str | None,
        no_published: bool,
        check: bool,
        actor: str,
        as_json: bool,
    ) -> None:
        """After restoring the register from a backup: re-apply the revocations and
        suspensions of the last published status lists, close the old lists (no index is
        handed out twice) and move the rollback fence on. Publish afterwards.

        Until this has run, a restored register refuses to issue and to publish
        (register_rolled_back).
        """
        iss = Issuer.open(home)
        if check:
            seq, fence = iss.register.register_seq, iss.register.read_fence()
            behind = fence is not None and seq < fence
            if as_json:
                echo_json({"ok": not behind, "register_seq": seq, "fence": fence})
            else:
                state = "needs reconciling (restored from an older copy)" if behind else "ok"
                click.echo(f"register sequence {seq}, fence {fence}: {state}")
            sys.exit(2 if behind else 0)
        if bool(published) == no_published:
            raise click.UsageError("give --published DIR, or --no-published")
        report = iss.reconcile(published, actor=actor)
        if not report.needed:
            if as_json:
                echo_json({"ok": True, "needed": False, "register_seq": report.register_seq})
            else:
                click.echo(f"{home}: the register is not behind its fence; nothing to reconcile")
            return
        hint = f"{program} status publish --home {home} --out-dir {published or 'DIR'}"
        if as_json:
            out: dict[str, Any] = {
                "ok": True,
                "needed": True,
                "revoked": list(report.revoked),
                "suspended": list(report.suspended),
                "placeholders": list(report.placeholders),
                "closed_lists": list(report.closed_lists),
                "register_seq": report.register_seq,
                "next": hint,
            }
            echo_json(out)
            return
        click.echo(
            f"reconciled {home}: {len(report.revoked)} revoked and {len(report.suspended)} "
            f"suspended index(es) re-applied ({len(report.placeholders)} unknown to the "
            f"restored register, kept as lost:<list>:<index>); lists "
            f"{', '.join(map(str, report.closed_lists)) or '-'} closed for new credentials"
        )
        if no_published:
            click.echo(
                "no published lists were read: revoke or suspend again whatever was revoked "
                "or suspended after the backup was taken",
                err=True,
            )
        click.echo(f"now publish the status lists: {hint}")

    return cmd
