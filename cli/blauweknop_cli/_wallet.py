"""``blauweknop wallet ...``: the citizen's wallet from the command line (for testing and
pilots; apps embed :class:`blauweknop.Wallet` directly)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click

from blauweknop import TrustList, Wallet

from ._ca import CA_ROOT_OPTION, load_roots
from ._common import (
    JSON_OPTION,
    JsonGroup,
    done,
    echo_json,
    handle_errors,
    read_bytes,
    read_json,
    wallet_secret,
    write_output,
)

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
WALLET_OPT = click.option(
    "--wallet",
    "wallet_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Wallet directory.",
)


def _open(wallet_dir: str) -> Wallet:
    return Wallet.open(wallet_dir, passphrase=wallet_secret())


def _eur(cents: int) -> str:
    return f"€ {cents / 100:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


@click.group(cls=JsonGroup, context_settings=CONTEXT)
def wallet() -> None:
    """The citizen's encrypted wallet.

    The passphrase comes from BLAUWEKNOP_WALLET_PASSPHRASE or a prompt, never from the
    command line.
    """


@wallet.command("init", context_settings=CONTEXT)
@WALLET_OPT
@click.option(
    "--alg",
    type=click.Choice(["ES256", "EdDSA"]),
    default="ES256",
    show_default=True,
    help="Holder key algorithm.",
)
@JSON_OPTION
@handle_errors()
def wallet_init(wallet_dir: str, alg: str, as_json: bool) -> None:
    """Create an encrypted wallet with a fresh holder key."""
    w = Wallet.create(wallet_dir, passphrase=wallet_secret(confirm=True), alg=alg)
    kid = w.holder_jwk()["kid"]
    w.close()
    done(as_json, f"created wallet {wallet_dir}; holder key {kid}", wallet=wallet_dir, kid=kid)


@wallet.command("holder-key", context_settings=CONTEXT)
@WALLET_OPT
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="Public JWK file to write."
)
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@JSON_OPTION
@handle_errors()
def wallet_holder_key(wallet_dir: str, out: str, force: bool, as_json: bool) -> None:
    """Export the holder's public key, for issuers to bind credentials to."""
    with _open(wallet_dir) as w:
        jwk = w.holder_jwk()
    write_output(out, json.dumps(jwk, indent=2) + "\n", force=force)
    done(as_json, f"wrote {out} (public holder key {jwk['kid']})", out=out, kid=jwk["kid"])


@wallet.command("add", context_settings=CONTEXT)
@WALLET_OPT
@click.argument("credential_file", type=click.Path(dir_okay=False))
@click.option(
    "--trust-list",
    required=True,
    type=click.Path(dir_okay=False),
    help="The signed trust list (JWT).",
)
@click.option(
    "--anchor",
    required=True,
    type=click.Path(dir_okay=False),
    help="The scheme authority's public key.",
)
@click.option(
    "--status-dir",
    type=click.Path(file_okay=False),
    help="Status cache, to refuse revoked credentials.",
)
@CA_ROOT_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors(rejections=True)
def wallet_add(
    wallet_dir: str,
    credential_file: str,
    trust_list: str,
    anchor: str,
    status_dir: str | None,
    ca_roots: tuple[str, ...],
    as_json: bool,
) -> None:
    """Verify a credential and store it (rejected credentials exit 1, nothing stored)."""
    from .main import _load_public_key

    tl = TrustList.verify(
        read_bytes(trust_list, "trust list"),
        _load_public_key(anchor, "anchor key"),
        x509_roots=load_roots(ca_roots),
    )
    text = read_bytes(credential_file, "credential").decode("utf-8", "replace")
    status = None
    if status_dir:
        from blauweknop import StatusCache

        status = StatusCache(status_dir)
    with _open(wallet_dir) as w:
        res = w.add(text, trust_list=tl, status=status)
    c = res.credential
    if as_json:
        echo_json(
            {
                "ok": True,
                "duplicate": res.duplicate,
                "superseded": list(res.superseded),
                "credential": c.to_json(),
            }
        )
        return
    if res.duplicate:
        click.echo(f"already in the wallet as {c.id}; nothing changed")
        return
    click.echo(f"added {c.id}: {c.vct} from {c.issuer_name} ({c.format})")
    for s in res.superseded:
        click.echo(f"  supersedes older statement {s}")


@wallet.command("list", context_settings=CONTEXT)
@WALLET_OPT
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors()
def wallet_list(wallet_dir: str, as_json: bool) -> None:
    """List the stored credentials."""
    with _open(wallet_dir) as w:
        creds = w.credentials()
    if as_json:
        echo_json({"ok": True, "credentials": [c.to_json() for c in creds]})
        return
    if not creds:
        click.echo("the wallet is empty")
        return
    from rich.console import Console
    from rich.table import Table

    t = Table("id", "type", "issuer", "format", "state", "valid until")
    for c in creds:
        until = (
            dt.datetime.fromtimestamp(c.valid_until, dt.UTC).date().isoformat()
            if c.valid_until
            else "-"
        )
        t.add_row(c.id, c.vct.split(":")[-2], c.issuer_name, c.format, c.state, until)
    Console(width=120).print(t)


@wallet.command("overview", context_settings=CONTEXT)
@WALLET_OPT
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--today", type=click.DateTime(["%Y-%m-%d"]), help="Compute for this date (default today)."
)
@handle_errors()
def wallet_overview(wallet_dir: str, as_json: bool, today: dt.datetime | None) -> None:
    """Show where you stand: what you owe per creditor, arrears, arrangements, the pause."""
    with _open(wallet_dir) as w:
        ov = w.overview(today=today.date() if today else None)
    if as_json:
        echo_json({"ok": True, **ov.to_json()})
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(width=120)
    t = Table(
        "creditor",
        "outstanding",
        "in arrears",
        "cases",
        "arrangement",
        "balance at",
        title=f"Your debts on {ov.as_of}",
    )
    for c in ov.creditors:
        arr = "-"
        if c.arrangement:
            a = c.arrangement
            paid = f"{a['installments_paid']}/{a['number_of_installments']}"
            arr = f"{a['type']}: {paid} paid ({a['status']})"
        bal = c.balance_at[:10] + (" (stale)" if c.stale else "")
        t.add_row(
            c.creditor,
            _eur(c.outstanding),
            _eur(c.in_arrears),
            f"{c.cases} ({c.cases_in_arrears} in arrears)",
            arr,
            bal,
        )
    t.add_section()
    t.add_row("TOTAL", _eur(ov.total_outstanding), _eur(ov.total_in_arrears), "", "", "")
    console.print(t)
    if ov.pause:
        p = ov.pause
        console.print(
            f"Rode Knop pause by {p.municipality}: {p.valid_from} .. {p.valid_until} "
            f"({p.days_left} days left); creditors asked: {', '.join(p.measures)}"
        )
    for n in ov.notes:
        console.print(f"note: {n}", markup=False, highlight=False)


@wallet.command("present", context_settings=CONTEXT)
@WALLET_OPT
@click.option(
    "--request",
    "request_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="The creditor's DCQL request (JSON).",
)
@click.option("--nonce", required=True, help="The creditor's nonce.")
@click.option("--audience", required=True, help="The creditor's identifier (audience).")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="vp_token file to write."
)
@click.option("--plan-only", is_flag=True, help="Only show what would be disclosed; write nothing.")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors()
def wallet_present(
    wallet_dir: str,
    request_file: str,
    nonce: str,
    audience: str,
    out: str,
    plan_only: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Answer a DCQL request with exactly the requested claims, bound to nonce and audience."""
    request = read_json(request_file, "DCQL request")
    with _open(wallet_dir) as w:
        plan = w.plan(request)
        if as_json and plan_only:
            echo_json({"ok": True, **plan.to_dict()})
            return
        if not as_json:  # with --json, stdout holds only the one result object
            _print_plan(plan)
        if plan_only:
            return
        vp = w.present(plan, nonce=nonce, audience=audience)
    write_output(out, json.dumps(vp, indent=2) + "\n", force=force, mode=0o600)
    n = sum(len(v) for v in vp.values())
    if as_json:
        echo_json({"ok": True, "out": out, "presentations": n})
    else:
        click.echo(f"wrote {out}: {n} presentation(s) for {', '.join(vp)}")


def _print_plan(plan: Any) -> None:
    if not plan.satisfiable:
        click.echo("cannot answer this request:", err=True)
        for m in plan.missing:
            click.echo(f"  - {m.message}", err=True)
        return
    click.echo("this request will disclose:")
    for qid, items in plan.presentations().items():
        for d in items:
            paths = (
                ", ".join(".".join(str(x) for x in p) for p in d.disclose_paths)
                or "(always-shown claims only)"
            )
            click.echo(f"  [{qid}] credential {d.credential_id}: {paths}")
    for wmsg in plan.warnings:
        click.echo(f"  warning: {wmsg.message}")
