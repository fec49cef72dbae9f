"""``blauweknop area report|combine|chart``: area signals for prevention
(specs/area-report.md)."""

from __future__ import annotations

import datetime as dt
import json
import random
import secrets
from pathlib import Path

import click

from blauweknop import Issuer, Key, TrustList, parse_json
from blauweknop.area import (
    CombinedReport,
    Pseudonymiser,
    area_report,
    combine,
    render_chart,
    signed_extract,
    verify_area_report,
)

from ._common import (
    JSON_OPTION,
    done,
    echo_json,
    fail,
    handle_errors,
    read_bytes,
    read_json_object,
    write_output,
)

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


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


_AT = click.option("--at", "at", help="Verify as of this RFC 3339 time instead of now.")


def _trust(trust_list: str, anchor: str, now: float | None) -> TrustList:
    key = Key.from_jwk(read_json_object(anchor, "anchor key")).public()
    return TrustList.verify(read_bytes(trust_list, "trust list"), key, now=now)


def _table(report: CombinedReport) -> list[str]:
    cols = list(report.measures)
    out = [f"{'PC4':<6}" + "".join(f"{c:>14}" for c in cols)]
    for pc4, row in report.areas.items():
        cells = "".join(
            f"{('<' + str(report.k)) if row[c] is None else str(row[c]):>14}" for c in cols
        )
        out.append(f"{pc4:<6}{cells}")
    return out


@click.group("area", context_settings=CONTEXT)
def area() -> None:
    """Area signals for prevention: counts of people per PC4 area, never about individuals.

    \b
      blauweknop area report --home cjib --period 2026-11 --out cjib-report.jwt \\
        --extract-out cjib-extract.jwt
      blauweknop area party-keys --out-dir party      (the pseudonymisation party, once)
      blauweknop area combine cjib-extract.jwt duo-extract.jwt --key-file party/pseudonym.key \\
        --party-key party/party.jwk --trust-list trust.jwt --anchor anchor.pub.jwk \\
        --out combined.json
      blauweknop area chart combined.json --out areas     (areas.png and areas.svg)
    """


@area.command("report", context_settings=CONTEXT)
@click.option("--home", required=True, type=click.Path(file_okay=False), help="Issuer home.")
@click.option("--period", required=True, help="The month YYYY-MM (it must have ended).")
@click.option("--k", "k", type=click.IntRange(2), default=10, show_default=True)
@click.option("--epsilon", type=click.FloatRange(0, 10, min_open=True), help="Add noise.")
@click.option("--seed", type=int, help="Seed the noise (tests only: a seed makes it guessable).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Signed report.")
@click.option(
    "--extract-out",
    type=click.Path(dir_okay=False),
    help="Also write the signed extract for the pseudonymisation party (0600).",
)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@JSON_OPTION
@handle_errors()
def report(
    home: str,
    period: str,
    k: int,
    epsilon: float | None,
    seed: int | None,
    out: str,
    extract_out: str | None,
    force: bool,
    as_json: bool,
) -> None:
    """Count people per PC4 area as of the period's snapshot; sign the report."""
    iss = Issuer.open(home)
    rng = random.Random(seed) if seed is not None else None  # noqa: S311 (tests only)
    rep = area_report(iss, period, k=k, epsilon=epsilon, rng=rng)
    write_output(out, rep.sign(iss) + "\n", force=force)
    if extract_out:
        write_output(extract_out, signed_extract(iss, period) + "\n", force=force, mode=0o600)
    if as_json:
        echo_json({"ok": True, "out": out, "extract_out": extract_out, **rep.to_json()})
    else:
        click.echo("\n".join(rep.lines()))
        click.echo(f"signed report written to {out}")


@area.command("party-keys", context_settings=CONTEXT)
@click.option("--out-dir", required=True, type=click.Path(file_okay=False), help="Key folder.")
@click.option("--force", is_flag=True, help="Overwrite existing key files.")
@JSON_OPTION
@handle_errors()
def party_keys(out_dir: str, force: bool, as_json: bool) -> None:
    """Make the pseudonymisation party's keys: party.jwk (private P-256, 0600) and
    pseudonym.key (HMAC, hex, 0600) stay with the party; party.pub.jwk goes to every issuer
    as area-party.pub.jwk, to seal BSNs to."""
    party = Pseudonymiser.generate()
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    files = [str(folder / n) for n in ("party.jwk", "pseudonym.key", "party.pub.jwk")]
    write_output(files[0], json.dumps(party.private_jwk()) + "\n", force=force, mode=0o600)
    write_output(files[1], secrets.token_hex(32) + "\n", force=force, mode=0o600)
    write_output(files[2], json.dumps(party.public_jwk(), indent=2) + "\n", force=force)
    done(as_json, f"wrote {', '.join(files)}", files=files)


@area.command("combine", context_settings=CONTEXT)
@click.argument("extracts", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--key-file",
    required=True,
    type=click.Path(dir_okay=False),
    help="The pseudonymisation party's HMAC key (hex, 32+ bytes).",
)
@click.option(
    "--party-key",
    required=True,
    type=click.Path(dir_okay=False),
    help="The pseudonymisation party's private P-256 JWK (opens the sealed BSNs).",
)
@click.option("--trust-list", required=True, type=click.Path(dir_okay=False))
@click.option("--anchor", required=True, type=click.Path(dir_okay=False))
@click.option("--k", "k", type=click.IntRange(2), default=10, show_default=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Combined JSON.")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@_AT
@JSON_OPTION
@handle_errors(rejections=True)
def combine_cmd(
    extracts: tuple[str, ...],
    key_file: str,
    party_key: str,
    trust_list: str,
    anchor: str,
    k: int,
    out: str,
    force: bool,
    at: str | None,
    as_json: bool,
) -> None:
    """As the pseudonymisation party: verify the issuers' extracts, open each sealed BSN and
    key it at once (HMAC; the BSN is dropped), then combine per PC4 area."""
    now = _at(at)
    trust = _trust(trust_list, anchor, now)
    try:
        key = bytes.fromhex(read_bytes(key_file, "key file").decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        fail("invalid_data", f"{key_file} does not hold a hex key")
        raise
    pp = Pseudonymiser(key, read_json_object(party_key, "party key"))
    done_extracts = [
        pp.apply(read_bytes(e, "extract").decode("ascii").strip(), trust, now=now) for e in extracts
    ]
    combined = combine(done_extracts, k=k)
    write_output(out, json.dumps(combined.to_json(), indent=2) + "\n", force=force)
    if as_json:
        echo_json({"ok": True, "out": out, **combined.to_json()})
    else:
        click.echo("\n".join(_table(combined)))
        click.echo(f"combined figures written to {out}")


combine_cmd.name = "combine"


@area.command("chart", context_settings=CONTEXT)
@click.argument("figures", type=click.Path(dir_okay=False))
@click.option("--out", required=True, help="Base name: writes OUT.png and OUT.svg.")
@click.option("--trust-list", type=click.Path(dir_okay=False), help="For a signed report.")
@click.option("--anchor", type=click.Path(dir_okay=False), help="For a signed report.")
@_AT
@JSON_OPTION
@handle_errors(rejections=True)
def chart(
    figures: str,
    out: str,
    trust_list: str | None,
    anchor: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Draw combined figures (JSON) or a signed report (verified first) as PNG and SVG."""
    raw = read_bytes(figures, "figures")
    text = raw.decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        figs: object = CombinedReport.from_json(parse_json(raw, what="figures"))
    else:
        if not (trust_list and anchor):
            fail("bad_usage", "a signed report needs --trust-list and --anchor")
        now = _at(at)
        figs = verify_area_report(text, _trust(str(trust_list), str(anchor), now), now=now)
    paths = render_chart(figs, out)
    done(as_json, f"wrote {paths[0]} and {paths[1]}", files=[str(p) for p in paths])
