"""``blauweknop arrangement propose|issue``: the arrangement coordinator's commands
(specs/payment-arrangement.md)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click

from blauweknop import Issuer, Key, StatusCache, TrustList, Verifier
from blauweknop.arrangement import ArrangementCoordinator, PaymentArrangement, Proposal
from blauweknop.files import credential_writer

from ._common import (
    JSON_OPTION,
    done,
    echo_json,
    fail,
    handle_errors,
    read_bytes,
    read_json,
    read_json_object,
    write_output,
)

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _eur(cents: int) -> str:
    return f"EUR {cents / 100:,.2f}"


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail("bad_usage", f"{option} {value!r} is not a date YYYY-MM-DD")
        raise


def _at(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        d = dt.datetime.fromisoformat(value)
    except ValueError:
        fail("bad_usage", f"--at {value!r} is not an RFC 3339 date-time")
        raise
    if d.tzinfo is None:
        fail("bad_usage", "--at needs a UTC offset, e.g. 2026-12-01T12:00:00Z")
    return d.timestamp()


def split_table(arrangement: PaymentArrangement) -> list[str]:
    """The arrangement as text lines: one per creditor, then the total."""
    a = arrangement
    out = [
        f"arrangement {a.arrangement_id} ({a.arrangement_type}): {_eur(a.monthly_amount)} a month"
        f" over {a.number_of_creditors} creditors, first instalment on or after {a.start_date}"
    ]
    if a.pause is not None:
        out.append(f"  pause {a.pause.start_date} .. {a.pause.end_date} ({a.pause.reason})")
    for x in a.creditors:
        out.append(
            f"  {x.name:<24} owed {_eur(x.outstanding):>14}  share {_eur(x.installment_amount):>11}"
            f"  x {x.number_of_installments:>2} (last {_eur(x.last_installment_amount)})"
            f"  {x.first_due_date} .. {x.last_due_date}"
        )
    out.append(
        f"  {'TOTAL':<24} owed {_eur(a.total_outstanding):>14}  share "
        f"{_eur(sum(x.installment_amount for x in a.creditors)):>11}"
    )
    return out


@click.group("arrangement", context_settings=CONTEXT)
def arrangement() -> None:
    """Payment arrangement across creditors (Betalingsregeling Rijk), for the coordinator.

    \b
      blauweknop arrangement propose vp.json --home coord --trust-list trust.jwt \\
        --anchor anchor.pub.jwk --nonce N --status-dir cache --monthly-amount 45000 \\
        --start-date 2027-01-01 --id BRR-2026-000042 --out proposal.json
      blauweknop arrangement issue proposal.json --home coord --out arrangement.txt
    """


@arrangement.command("propose", context_settings=CONTEXT)
@click.argument("vp_file", type=click.Path(dir_okay=False))
@click.option("--home", required=True, type=click.Path(file_okay=False), help="Coordinator home.")
@click.option("--trust-list", required=True, type=click.Path(dir_okay=False), help="Trust list.")
@click.option("--anchor", required=True, type=click.Path(dir_okay=False), help="Anchor public key.")
@click.option("--nonce", required=True, help="The nonce sent with the request.")
@click.option("--audience", help="The audience the wallet bound to [default: the coordinator id].")
@click.option(
    "--request", "request_file", type=click.Path(dir_okay=False), help="The DCQL request sent."
)
@click.option("--status-dir", type=click.Path(file_okay=False), help="Status cache.")
@click.option(
    "--monthly-amount",
    required=True,
    type=click.IntRange(1),
    help="Cents a month available for all creditors together (an input; nothing is computed).",
)
@click.option("--start-date", required=True, help="First instalment date (day 1 to 28).")
@click.option("--id", "arrangement_id", required=True, help="The arrangement's id.")
@click.option(
    "--type",
    "arrangement_type",
    type=click.Choice(["standaard", "maatwerk"]),
    default="standaard",
    show_default=True,
)
@click.option("--pause-from", help="Start of a payment pause (date).")
@click.option("--pause-until", help="End of the pause (date, inclusive).")
@click.option("--supersedes", help="The id of the arrangement this one replaces.")
@click.option("--at", "at", help="Verify as of this RFC 3339 time instead of now.")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="Proposal file to write (0600)."
)
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@JSON_OPTION
@handle_errors(rejections=True)
def propose(
    vp_file: str,
    home: str,
    trust_list: str,
    anchor: str,
    nonce: str,
    audience: str | None,
    request_file: str | None,
    status_dir: str | None,
    monthly_amount: int,
    start_date: str,
    arrangement_id: str,
    arrangement_type: str,
    pause_from: str | None,
    pause_until: str | None,
    supersedes: str | None,
    at: str | None,
    out: str,
    force: bool,
    as_json: bool,
) -> None:
    """Verify the citizen's statements (vp_token) and compute the arrangement."""
    now = _at(at)
    start = _date(start_date, "--start-date")
    assert start is not None
    p0, p1 = _date(pause_from, "--pause-from"), _date(pause_until, "--pause-until")
    if (p0 is None) != (p1 is None):
        fail("bad_usage", "give both --pause-from and --pause-until, or neither")
    anchor_key = Key.from_jwk(read_json_object(anchor, "anchor key")).public()
    trust = TrustList.verify(read_bytes(trust_list, "trust list"), anchor_key, now=now)
    status = StatusCache(status_dir, trust_list=trust) if status_dir else None
    iss = Issuer.open(home)
    coordinator = ArrangementCoordinator(iss, Verifier(trust, status=status))
    request = read_json(request_file, "DCQL request") if request_file else None
    proposal = coordinator.propose(
        read_bytes(vp_file, "vp_token"),
        nonce=nonce,
        audience=audience or iss.issuer_id,
        monthly_amount=monthly_amount,
        start_date=start,
        arrangement_id=arrangement_id,
        arrangement_type=arrangement_type,
        pause=(p0, p1) if p0 is not None and p1 is not None else None,
        supersedes=supersedes,
        request=request,
        now=now,
    )
    # holds personal data: written for the coordinator only
    write_output(out, json.dumps(proposal.to_json(), indent=2) + "\n", force=force, mode=0o600)
    if as_json:
        echo_json({"ok": True, "out": out, **proposal.to_json()})
    else:
        click.echo("\n".join(split_table(proposal.arrangement)))
        click.echo(f"proposal written to {out}")


@arrangement.command("issue", context_settings=CONTEXT)
@click.argument("proposal_file", type=click.Path(dir_okay=False))
@click.option("--home", required=True, type=click.Path(file_okay=False), help="Coordinator home.")
@click.option(
    "--format", "fmt", type=click.Choice(["sd-jwt", "di"]), default="sd-jwt", show_default=True
)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="Credential file (0600)."
)
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@JSON_OPTION
@handle_errors()
def issue(proposal_file: str, home: str, fmt: str, out: str, force: bool, as_json: bool) -> None:
    """Issue a proposed arrangement to the citizen (revoking the one it supersedes)."""
    data: dict[str, Any] = read_json_object(proposal_file, "proposal")
    if not isinstance(data.get("arrangement"), dict) or not isinstance(
        data.get("holder_jwk"), dict
    ):
        fail("invalid_data", f"{proposal_file} is not a proposal (arrangement, holder_jwk)")
    arr = PaymentArrangement.from_claims(data["arrangement"])
    proposal = Proposal(arrangement=arr, holder_jwk=data["holder_jwk"], debts=())
    iss = Issuer.open(home)
    cred = ArrangementCoordinator(iss).issue(
        proposal, format=fmt, write=credential_writer(out, overwrite=force)
    )
    done(
        as_json,
        f"issued {cred.credential_id} ({cred.format}) to {out}"
        + (f"; {arr.supersedes} revoked" if arr.supersedes else ""),
        credential_id=cred.credential_id,
        format=cred.format,
        out=out,
        supersedes=arr.supersedes,
    )
