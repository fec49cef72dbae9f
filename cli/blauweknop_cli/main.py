"""The ``blauweknop`` and ``rodeknop`` commands (docs/cli.md). Thin: parse, call the API, print.

Exit codes: 0 success · 1 rejected (verification failed; reason code printed) · 2 bad usage
or unreadable/invalid input.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import click

from blauweknop import (
    RODE_KNOP_VCT,
    BlauweKnopError,
    Issuer,
    Key,
    TrustList,
    Verifier,
    build_trust_list,
)
from blauweknop.debt import DebtStatement
from blauweknop.files import credential_writer

from ._ca import CA_ROOT_OPTION, ca, issuer_certificate, load_roots
from ._common import (
    JSON_OPTION,
    JsonGroup,
    check_readable,
    done,
    echo_json,
    fail,
    handle_errors,
    read_bytes,
    read_json,
    read_json_object,
    warn,
    write_output,
)

FORMAT_CHOICE = click.Choice(["sd-jwt", "di"])
#: ``--register``: a PostgreSQL register shared by several issuing machines (issue 16).
REGISTER_OPTION = click.option(
    "--register",
    "register_url",
    envvar="BLAUWEKNOP_REGISTER",
    default=None,
    help="PostgreSQL register shared by several issuing machines: postgresql://USER@HOST/DB "
    "(password from PGPASSWORD or ~/.pgpass, never here). Default: the home's config.json, "
    "else the home's SQLite file. With init it is kept in config.json.",
)
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
#: JWK members that hold private key material (RFC 7518 section 6; "k" of a symmetric key).
PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
#: Where help texts send the reader: the published documentation, not repository paths.
DOCS = "the documentation's Formats page and the README"


def _load_public_key(path: str, what: str) -> Key:
    """A public key file; a private key here is refused (never printed, never used)."""
    jwk = read_json_object(path, what)
    if PRIVATE_JWK_MEMBERS.intersection(jwk):
        fail(
            "private_key_refused",
            f"{what} {path} holds a PRIVATE key; give the public key (the .pub.jwk file that "
            "`blauweknop keys generate` writes next to it) and keep the private key file secret",
        )
    try:
        return Key.from_jwk(jwk).public()
    except BlauweKnopError as e:
        fail(e.code, f"{what} {path}: {e.message}")
        raise


def _parse_at(at: str | None) -> float | None:
    if at is None:
        return None
    try:
        d = dt.datetime.fromisoformat(at)
    except ValueError:
        fail("bad_usage", f"--at {at!r} is not an RFC 3339 date-time")
        raise
    if d.tzinfo is None:
        fail("bad_usage", "--at needs a UTC offset, e.g. 2026-12-01T12:00:00Z")
    return d.timestamp()


def _load_trust(
    trust_list: str,
    anchor: str,
    now: float | None,
    max_age_days: int | None = None,
    ca_roots: tuple[str, ...] = (),
) -> TrustList:
    token = read_bytes(trust_list, "trust list")
    key = _load_public_key(anchor, "anchor key")
    roots = load_roots(ca_roots)
    if max_age_days is None:  # the library default (35 days since the list's iat)
        return TrustList.verify(token, key, now=now, x509_roots=roots)
    return TrustList.verify(token, key, now=now, max_age=max_age_days * 86400, x509_roots=roots)


_MAX_AGE = click.option(
    "--max-age",
    "max_age_days",
    type=click.IntRange(1, 400),
    help="Refuse a trust list issued more than this many days ago [default: 35].",
)


# =========================================================================================
# blauweknop
# =========================================================================================
@click.group(cls=JsonGroup, context_settings=CONTEXT)
@click.version_option(package_name="blauweknop")
def blauweknop() -> None:
    """Blauwe Knop: signed debt statements, the citizen's wallet and offline verification.

    \b
    Typical flow:
      blauweknop keys generate --out anchor.jwk          (scheme authority, once)
      blauweknop issuer init --home cjib --id urn:oin:... --name CJIB
      blauweknop trust build --anchor-key anchor.jwk --entry cjib/trust-entry.json --out trust.jwt
      blauweknop issue --home cjib --holder-key holder.pub.jwk --data statement.json --out cred.txt
      blauweknop wallet add --wallet w cred.txt --trust-list trust.jwt --anchor anchor.pub.jwk
      blauweknop verify vp.json --trust-list trust.jwt --anchor anchor.pub.jwk \
        --nonce N --audience A

    Exit codes: 0 success, 1 rejected (reason code printed), 2 bad usage or input.
    With --json, every outcome is one JSON object on stdout: {"ok": true, ...} or
    {"ok": false, "code": ..., "message": ...}.
    """


# -- keys ---------------------------------------------------------------------------------
@blauweknop.group(context_settings=CONTEXT)
def keys() -> None:
    """Generate signing keys (JWK files)."""


@keys.command("generate", context_settings=CONTEXT)
@click.option(
    "--alg",
    type=click.Choice(["ES256", "EdDSA"]),
    default="ES256",
    show_default=True,
    help="Signature algorithm (P-256 ECDSA or Ed25519).",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False),
    help="Private key file to write (mode 0600); the public key goes to OUT with .pub.jwk.",
)
@JSON_OPTION
@handle_errors()
def keys_generate(alg: str, out: str, as_json: bool) -> None:
    """Generate a key pair: OUT (private, 0600) and OUT.pub.jwk (public). Never overwrites."""
    p = Path(out)
    pub = p.with_name(p.name.removesuffix(".jwk") + ".pub.jwk")
    for f in (p, pub):
        if f.exists():
            fail("file_exists", f"{f} exists; refusing to overwrite a key")
    key = Key.generate(alg)
    key.save(p)
    key.public().save(pub)
    done(
        as_json,
        f"wrote {p} (private, 0600) and {pub} (public); kid {key.kid}",
        private_key=str(p),
        public_key=str(pub),
        kid=key.kid,
        alg=alg,
    )


# -- trust ----------------------------------------------------------------------------------
@blauweknop.group(context_settings=CONTEXT)
def trust() -> None:
    """Build and inspect the scheme's signed trust list (scheme authority)."""


@trust.command("build", context_settings=CONTEXT)
@click.option(
    "--anchor-key",
    required=True,
    type=click.Path(dir_okay=False),
    help="The scheme authority's private key (JWK).",
)
@click.option(
    "--entry",
    "entries",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False),
    help="An organisation's trust-entry.json, as `issuer init` / `rodeknop init` write it: JSON "
    '{"id", "name", "roles", "jwks": {"keys": [public JWK]}}. Repeat for each organisation.',
)
@click.option(
    "--valid-days",
    default=30,
    show_default=True,
    type=click.IntRange(1, 400),
    help="How long the list is valid; verifiers reject it afterwards.",
)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="Trust list JWT to write."
)
@click.option(
    "--revoked-cert",
    "revoked_certs",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A certificate (PEM) the scheme CA revokes; x5c chains holding it are refused. "
    "Repeatable.",
)
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@JSON_OPTION
@handle_errors()
def trust_build(
    anchor_key: str,
    entries: tuple[str, ...],
    valid_days: int,
    revoked_certs: tuple[str, ...],
    out: str,
    force: bool,
    as_json: bool,
) -> None:
    """Sign a trust list from organisations' entries."""
    from blauweknop.x509 import x509_hash

    key = Key.load(anchor_key)
    if not key.has_private:
        fail("key_invalid", f"{anchor_key} holds no private key")
    data = [read_json_object(e, "trust entry") for e in entries]
    revoked = [x509_hash(c) for c in load_roots(revoked_certs)]
    token = build_trust_list(data, key, valid_days=valid_days, x509_revoked=revoked)
    write_output(out, token + "\n", force=force)
    done(
        as_json,
        f"wrote {out}: {len(data)} organisation(s), valid {valid_days} days, anchor kid {key.kid}",
        out=out,
        organisations=[str(e.get("id")) for e in data],
        valid_days=valid_days,
        anchor_kid=key.kid,
    )


@trust.command("show", context_settings=CONTEXT)
@click.argument("trust_list", type=click.Path(dir_okay=False))
@click.option(
    "--anchor",
    required=True,
    type=click.Path(dir_okay=False),
    help="The scheme authority's public key (pinned).",
)
@_MAX_AGE
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors(rejections=True)
def trust_show(trust_list: str, anchor: str, max_age_days: int | None, as_json: bool) -> None:
    """Verify a trust list against the pinned anchor key and show its organisations."""
    tl = _load_trust(trust_list, anchor, None, max_age_days)
    if as_json:
        echo_json({"ok": True, **tl.to_json()})
        return
    exp = dt.datetime.fromtimestamp(tl.expires_at, dt.UTC).isoformat()
    click.echo(f"trust list by {tl.issuer}, valid until {exp}")
    for o in tl.organisations.values():
        click.echo(
            f"  {o.id}  {o.name}  roles={','.join(sorted(o.roles))}"
            f"  keys={len(set(o.keys.values()))}"
        )


# -- issuer ---------------------------------------------------------------------------------
STATUS_URI_HELP = (
    "Base https URI where `status publish` output will be served; each credential names its "
    "status list under it (URI/<list>.jwt, URI/<list>-revocation.json ...). Required, unless "
    "--no-status."
)
NO_STATUS_HELP = (
    "Testing only: set no status URI. Credentials then point to a placeholder "
    "(https://status.invalid/...), so no verifier can ever check their status and verifiers "
    "reject them unless told to accept a missing status. Prints a warning."
)


def _status_base(
    status_uri: str | None, no_status: bool, home: str
) -> tuple[str | None, list[str]]:
    """The status base URI for ``init``: --status-uri, or None (placeholder) with --no-status."""
    if status_uri is not None and no_status:
        fail("bad_usage", "give either --status-uri or --no-status, not both")
    if status_uri is None and not no_status:
        fail(
            "bad_usage",
            "give --status-uri https://... (where the status lists will be served; every "
            "credential points there) or, for tests only, --no-status",
        )
    if status_uri is not None:
        return status_uri, []
    warning = (
        f"{home}: no status URI (--no-status): credentials issued from this home point to "
        "https://status.invalid/..., so no verifier can check their status; do not use it "
        "for real credentials"
    )
    return None, [warning]


def _init_done(iss: Issuer, home: str, what: str, warnings: list[str], as_json: bool) -> None:
    for w in warnings:  # after the home is made: a failed init has nothing to warn about
        warn(w)
    entry = Path(home) / "trust-entry.json"
    done(
        as_json,
        f"initialised {home} for {what}; send {entry} to the scheme authority",
        home=home,
        issuer_id=iss.issuer_id,
        name=iss.name,
        trust_entry=str(entry),
        status_base_uri=iss.config.get("status_base_uri"),
        warnings=warnings,
    )


@blauweknop.group(context_settings=CONTEXT)
def issuer() -> None:
    """Set up an issuing organisation's home directory."""


@issuer.command("init", context_settings=CONTEXT)
@click.option(
    "--home",
    required=True,
    type=click.Path(file_okay=False),
    help="Issuer home directory to create.",
)
@click.option(
    "--id", "issuer_id", required=True, help="Organisation id: urn:oin:<20 digits> or an https URL."
)
@click.option("--name", required=True, help="Organisation name as creditors will see it.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    default=("creditor",),
    show_default=True,
    help="Trust-list role (repeatable): creditor, municipality, debt_counsellor.",
)
@click.option("--status-uri", default=None, help=STATUS_URI_HELP)
@click.option("--no-status", is_flag=True, help=NO_STATUS_HELP)
@click.option("--alg", type=click.Choice(["ES256", "EdDSA"]), default="ES256", show_default=True)
@click.option(
    "--oin",
    default=None,
    help="The organisation's 20-digit OIN, for an https --id (a urn:oin: id carries its own).",
)
@REGISTER_OPTION
@JSON_OPTION
@handle_errors()
def issuer_init(
    home: str,
    issuer_id: str,
    name: str,
    roles: tuple[str, ...],
    status_uri: str | None,
    no_status: bool,
    alg: str,
    oin: str | None,
    register_url: str | None,
    as_json: bool,
) -> None:
    """Create an issuer home with a signing key and register; writes HOME/trust-entry.json.

    --status-uri (or, for tests, --no-status) is required: it is written into every
    credential, and verifiers reject a credential whose status they cannot check.
    """
    base, warnings = _status_base(status_uri, no_status, home)
    iss = Issuer.init(
        home,
        issuer_id=issuer_id,
        name=name,
        roles=roles,
        status_base_uri=base,
        alg=alg,
        extra={"oin": oin} if oin else None,
        register=register_url,
    )
    _init_done(iss, home, f"{iss.issuer_id} ({iss.name})", warnings, as_json)


def _status_uris(cred: Any) -> list[str]:
    """The status-list URIs the credential itself names: the IETF token status list of an
    SD-JWT VC, or each ``statusListCredential`` of a W3C credential (one per purpose)."""
    if cred.format == "dc+sd-jwt":
        return [cred.status_uri]
    doc = json.loads(cred.text)
    entries = doc.get("credentialStatus", [])
    entries = entries if isinstance(entries, list) else [entries]
    return [str(e["statusListCredential"]) for e in entries if "statusListCredential" in e]


def _issue_one(
    home: str,
    holder_key: str,
    data_file: str,
    fmt: str,
    out: str,
    force: bool,
    model: Any,
    as_json: bool,
    area: str | None = None,
    register_url: str | None = None,
) -> None:
    iss = Issuer.open(home, register=register_url)
    holder = read_json_object(holder_key, "holder key")
    data = read_json_object(data_file, "data file")
    obj = model.from_claims(data)
    # Written (0600) before the register confirms it; a failed write can simply be retried.
    write = credential_writer(out, overwrite=force)
    cred = iss.issue(obj, holder_jwk=holder, format=fmt, write=write, area=area)
    uris = _status_uris(cred)
    until = dt.datetime.fromtimestamp(cred.valid_until, dt.UTC).date().isoformat()
    done(
        as_json,
        f"issued {cred.credential_id} ({cred.format}) to {out}; valid until {until}; "
        f"status at {', '.join(uris)} index {cred.status_index}",
        credential_id=cred.credential_id,
        format=cred.format,
        vct=cred.vct,
        out=out,
        status_uri=uris[0] if uris else None,
        status_uris=uris,
        status_index=cred.status_index,
        valid_until=cred.valid_until,
    )


@blauweknop.command("issue", context_settings=CONTEXT)
@click.option(
    "--home", required=True, type=click.Path(file_okay=False), help="Issuer home directory."
)
@click.option(
    "--holder-key",
    required=True,
    type=click.Path(dir_okay=False),
    help="The citizen's public holder key (JWK).",
)
@click.option(
    "--data",
    "data_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="The debt statement as a JSON object: its domain claims exactly as in the credential "
    "(creditor, statement_id, balance_at, subject, totals, cases, ...), without iss, iat, exp, "
    f"vct, cnf or status, which the issuer adds. Format and an example: {DOCS}.",
)
@click.option(
    "--format",
    "fmt",
    type=FORMAT_CHOICE,
    default="sd-jwt",
    show_default=True,
    help="sd-jwt: SD-JWT VC; di: W3C VC 2.0 with an ecdsa-sd-2023 proof.",
)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="Credential file to write."
)
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@click.option(
    "--area",
    help="The subject's four-digit postcode area (PC4), kept in the register for the area "
    "report, never in the credential.",
)
@REGISTER_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors()
def issue(
    home: str,
    holder_key: str,
    data_file: str,
    fmt: str,
    out: str,
    force: bool,
    area: str | None,
    register_url: str | None,
    as_json: bool,
) -> None:
    """Issue a signed debt statement to a citizen's holder key."""
    _issue_one(
        home,
        holder_key,
        data_file,
        fmt,
        out,
        force,
        DebtStatement,
        as_json,
        area=area,
        register_url=register_url,
    )


def _lifecycle(action: str) -> Any:
    @click.command(action, context_settings=CONTEXT)
    @click.option(
        "--home", required=True, type=click.Path(file_okay=False), help="Issuer home directory."
    )
    @click.option("--reason", required=True, help="Why (kept in the audit trail).")
    @click.option(
        "--actor", default="operator", show_default=True, help="Who (kept in the audit trail)."
    )
    @click.argument("credential_id")
    @JSON_OPTION
    @handle_errors()
    def cmd(home: str, reason: str, actor: str, credential_id: str, as_json: bool) -> None:
        iss = Issuer.open(home)
        getattr(iss, action)(credential_id, reason=reason, actor=actor)
        state = {"revoke": "revoked", "suspend": "suspended", "resume": "valid"}[action]
        prog = click.get_current_context().find_root().command.name or "blauweknop"
        publish = f"{prog} status publish --home {shlex.quote(home)} --out-dir DIR"
        done(
            as_json,
            f"{credential_id}: {action}d"
            if action.endswith("e")
            else f"{credential_id}: {action}ed",
            credential_id=credential_id,
            action=action,
            state=state,
            next=publish,
        )
        if not as_json:
            click.echo(
                f"publish the status lists so creditors see it: {publish}\n"
                "  (DIR: the directory served as the home's --status-uri)"
            )

    cmd.help = {
        "revoke": "Revoke a credential for good (publish status afterwards).",
        "suspend": "Suspend a credential while in doubt (publish status afterwards).",
        "resume": "Lift a suspension (publish status afterwards).",
    }[action]
    return cmd


def _list_command() -> Any:
    @click.command("list", context_settings=CONTEXT)
    @click.option(
        "--home", required=True, type=click.Path(file_okay=False), help="Issuer home directory."
    )
    @click.option(
        "--state",
        type=click.Choice(["valid", "revoked", "suspended", "pending"]),
        help="Only this state.",
    )
    @click.option("--type", "vct", help="Only this credential type (vct).")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @handle_errors()
    def cmd(home: str, state: str | None, vct: str | None, as_json: bool) -> None:
        """List what this organisation has issued."""
        iss = Issuer.open(home)
        rows = iss.register.list(state=state, type=vct)
        if as_json:
            import dataclasses

            echo_json({"ok": True, "credentials": [dataclasses.asdict(r) for r in rows]})
            return
        if not rows:
            click.echo("no credentials")
            return
        from rich.console import Console
        from rich.table import Table

        table = Table("id", "type", "format", "state", "valid until", "status index")
        for r in rows:
            until = (
                dt.datetime.fromtimestamp(r.valid_until, dt.UTC).date().isoformat()
                if r.valid_until
                else "-"
            )
            table.add_row(
                r.credential_id,
                r.type.split(":")[-2],
                r.format,
                r.state,
                until,
                f"{r.list_id}/{r.idx}",
            )
        Console(width=120).print(table)

    return cmd


def _status_group() -> click.Group:
    @click.group("status", context_settings=CONTEXT)
    def grp() -> None:
        """Publish status lists (issuers) and sync them into a verifier's cache (creditors)."""

    @grp.command("publish", context_settings=CONTEXT)
    @click.option(
        "--home", required=True, type=click.Path(file_okay=False), help="Issuer home directory."
    )
    @click.option(
        "--out-dir",
        required=True,
        type=click.Path(file_okay=False),
        help="Directory to write the lists to.",
    )
    @click.option(
        "--ttl",
        default=3600,
        show_default=True,
        type=click.IntRange(min=1),
        help="Seconds a verifier may cache a list (at least 1).",
    )
    @JSON_OPTION
    @handle_errors()
    def publish(home: str, out_dir: str, ttl: int, as_json: bool) -> None:
        """Write the signed status lists, ready to be served as static files at --status-uri."""
        iss = Issuer.open(home)
        files = iss.publish_status(out_dir, ttl=ttl)
        done(
            as_json,
            "\n".join(f"wrote {f}" for f in files),
            out_dir=out_dir,
            files=[str(f) for f in files],
            ttl=ttl,
        )

    return grp


for _action in ("revoke", "suspend", "resume"):
    blauweknop.add_command(_lifecycle(_action))
blauweknop.add_command(_list_command())
_bk_status = _status_group()
blauweknop.add_command(_bk_status)


@_bk_status.command("sync", context_settings=CONTEXT)
@click.option(
    "--status-dir",
    required=True,
    type=click.Path(file_okay=False),
    help="The verifier's status cache.",
)
@click.option(
    "--from-dir",
    type=click.Path(file_okay=False),
    help="Copy published lists from a directory (e.g. a mounted share) instead of HTTPS.",
)
@click.option(
    "--trust-list",
    required=True,
    type=click.Path(dir_okay=False),
    help="The signed trust list (JWT): lists must be signed by a listed organisation.",
)
@click.option(
    "--anchor",
    required=True,
    type=click.Path(dir_okay=False),
    help="The scheme authority's public key (pinned).",
)
@click.argument("uris", nargs=-1)
@CA_ROOT_OPTION
@JSON_OPTION
@handle_errors()
def status_sync(
    status_dir: str,
    from_dir: str | None,
    trust_list: str,
    anchor: str,
    uris: tuple[str, ...],
    ca_roots: tuple[str, ...],
    as_json: bool,
) -> None:
    """Fetch status lists into the cache (the only networked step; verification stays offline).

    URIS are the status-list URIs to fetch over HTTPS; with --from-dir, every list file in
    that directory is imported under the URI it names. Each list is verified against the
    trust list (signature, signer, issue time) before it enters the cache.
    """
    from blauweknop import sync_status

    if from_dir is not None and not Path(from_dir).is_dir():
        fail("file_unreadable", f"cannot read --from-dir {from_dir}: not a directory")
    tl = _load_trust(trust_list, anchor, None, ca_roots=ca_roots)
    cached = sync_status(status_dir, trust_list=tl, uris=uris, from_dir=from_dir)
    done(as_json, "\n".join(f"cached {uri}" for uri in cached), cached=cached)


# -- verify -------------------------------------------------------------------------------
def _disclosed(value: Any) -> Any:
    """The claims as disclosed: an object left empty because none of its members was
    disclosed (an SD-JWT keeps the object, a W3C presentation leaves it out) is omitted, so
    both formats print the same. Arrays and other values are kept as they are."""
    if isinstance(value, dict):
        out = {k: _disclosed(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v != {}}
    if isinstance(value, list):
        return [_disclosed(v) for v in value]
    return value


@blauweknop.command("verify", context_settings=CONTEXT)
@click.argument("vp_file", type=click.Path(dir_okay=False))
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
    help="The scheme authority's public key (pinned).",
)
@click.option("--nonce", required=True, help="The nonce you sent with the request.")
@click.option(
    "--audience", required=True, help="Your own identifier (the audience the wallet bound to)."
)
@click.option(
    "--request",
    "request_file",
    type=click.Path(dir_okay=False),
    help="The DCQL request you sent; the response must answer it.",
)
@click.option(
    "--status-dir", type=click.Path(file_okay=False), help="Status cache (see `status sync`)."
)
@click.option(
    "--allow-missing-status",
    is_flag=True,
    help="Accept credentials whose status cannot be checked (NOT recommended).",
)
@click.option("--at", "at", help="Verify as of this RFC 3339 time instead of now.")
@_MAX_AGE
@CA_ROOT_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors(rejections=True)
def verify(
    vp_file: str,
    trust_list: str,
    anchor: str,
    nonce: str,
    audience: str,
    request_file: str | None,
    status_dir: str | None,
    allow_missing_status: bool,
    at: str | None,
    max_age_days: int | None,
    ca_roots: tuple[str, ...],
    as_json: bool,
) -> None:
    """Verify a vp_token offline; print what was proven, or the rejection (exit 1)."""
    now = _parse_at(at)
    tl = _load_trust(trust_list, anchor, now, max_age_days, ca_roots)
    status = None
    if status_dir is not None:
        from blauweknop import StatusCache

        status = StatusCache(status_dir)
    verifier = Verifier(tl, status=status, allow_missing_status=allow_missing_status)
    token = read_bytes(vp_file, "vp_token")
    request = read_json(request_file, "DCQL request") if request_file else None
    result = verifier.verify(token, nonce=nonce, audience=audience, request=request, now=now)
    today = (dt.datetime.fromtimestamp(now, dt.UTC) if now else dt.datetime.now(dt.UTC)).date()
    decisions = []
    for c in result.of_type(RODE_KNOP_VCT):
        from rodeknop_vc import hold_decision

        decisions.append(hold_decision(c, today=today))
    if as_json:
        echo_json(
            {
                "ok": True,
                "credentials": [
                    {**c.to_json(), "claims": _disclosed(c.claims)} for c in result.credentials
                ],
                "decisions": [d.to_json() for d in decisions],
            }
        )
        return
    click.echo(
        f"VERIFIED: {len(result.credentials)} credential(s), offline, bound to nonce and audience"
    )
    for c in result.credentials:
        click.echo(
            f"- [{c.query_id}] {c.vct} ({c.format}) from {c.issuer_name} ({c.issuer}),"
            f" status {c.status}"
        )
        click.echo("    " + json.dumps(_disclosed(c.claims), ensure_ascii=False, sort_keys=True))
    for d in decisions:
        verb = "PUT COLLECTION ON HOLD" if d.hold else "NO HOLD"
        click.echo(
            f"DECISION: {verb} from {d.hold_from} until {d.hold_until} "
            f"({', '.join(d.measures)}); {d.reason}"
        )


# =========================================================================================
# rodeknop
# =========================================================================================
@click.group(cls=JsonGroup, context_settings=CONTEXT)
@click.version_option(package_name="blauweknop")
def rodeknop() -> None:
    """Rode Knop: municipalities issue payment-incapacity declarations.

    (In Dutch: verklaring betalingsonmacht.)

    \b
    A municipal operator's day:
      rodeknop init --home gemeente --id urn:oin:... --name "Gemeente Eindhoven" \
        --municipality-code GM0772
      rodeknop issue --home gemeente --holder-key citizen.pub.jwk \
        --data declaration.json --out decl.txt
      rodeknop issue --home gemeente --batch admissions.csv --out-dir out/      (resumable)
      rodeknop revoke --home gemeente --reason "trajectory ended" GM0772-RK-2026-0815
      rodeknop status publish --home gemeente --out-dir public/status

    Exit codes: 0 success, 1 rejected, 2 bad usage or input.
    With --json, every outcome is one JSON object on stdout: {"ok": true, ...} or
    {"ok": false, "code": ..., "message": ...}.
    """


@rodeknop.command("init", context_settings=CONTEXT)
@click.option(
    "--home",
    required=True,
    type=click.Path(file_okay=False),
    help="Municipality home directory to create.",
)
@click.option(
    "--id", "issuer_id", required=True, help="The municipality's id: urn:oin:<20 digits>."
)
@click.option("--name", required=True, help='Name, e.g. "Gemeente Eindhoven".')
@click.option("--municipality-code", required=True, help="CBS municipality code, e.g. GM0772.")
@click.option("--status-uri", default=None, help=STATUS_URI_HELP)
@click.option("--no-status", is_flag=True, help=NO_STATUS_HELP)
@click.option("--alg", type=click.Choice(["ES256", "EdDSA"]), default="ES256", show_default=True)
@REGISTER_OPTION
@JSON_OPTION
@handle_errors()
def rk_init(
    home: str,
    issuer_id: str,
    name: str,
    municipality_code: str,
    status_uri: str | None,
    no_status: bool,
    alg: str,
    register_url: str | None,
    as_json: bool,
) -> None:
    """Set up a municipality as a Rode Knop issuer (role: municipality).

    --status-uri (or, for tests, --no-status) is required: it is written into every
    declaration, and creditors reject a declaration whose status they cannot check.
    """
    import re

    if not re.fullmatch(r"GM[0-9]{4}", municipality_code):
        fail("invalid_data", "--municipality-code must look like GM0772")
    base, warnings = _status_base(status_uri, no_status, home)
    iss = Issuer.init(
        home,
        issuer_id=issuer_id,
        name=name,
        roles=("municipality",),
        status_base_uri=base,
        alg=alg,
        extra={"municipality_code": municipality_code},
        register=register_url,
    )
    _init_done(iss, home, f"{iss.name} ({municipality_code})", warnings, as_json)


@rodeknop.command("issue", context_settings=CONTEXT)
@click.option(
    "--home", required=True, type=click.Path(file_okay=False), help="Municipality home directory."
)
@click.option(
    "--holder-key",
    type=click.Path(dir_okay=False),
    help="The citizen's public holder key (single issue).",
)
@click.option(
    "--data",
    "data_file",
    type=click.Path(dir_okay=False),
    help="The declaration as a JSON object: its domain claims exactly as in the credential "
    "(declaration_id, municipality, subject, valid_from, valid_until, requested_measures, "
    f"...), without the technical claims the issuer adds. Format and an example: {DOCS}.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False), help="Credential file to write (single issue)."
)
@click.option(
    "--batch",
    "batch_file",
    type=click.Path(dir_okay=False),
    help="UTF-8 CSV with a header row and one declaration per row (columns such as "
    "declaration_id, bsn, holder_key, valid_from, valid_until ...; the columns are listed "
    "in the documentation's Municipal operator page, 'Issue a batch'). All rows are checked "
    "before anything is signed.",
)
@click.option("--out-dir", type=click.Path(file_okay=False), help="Directory for batch output.")
@click.option(
    "--format",
    "fmt",
    type=FORMAT_CHOICE,
    default="sd-jwt",
    show_default=True,
    help="sd-jwt: SD-JWT VC; di: W3C VC 2.0 with an ecdsa-sd-2023 proof.",
)
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@REGISTER_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors()
def rk_issue(
    home: str,
    holder_key: str | None,
    data_file: str | None,
    out: str | None,
    batch_file: str | None,
    out_dir: str | None,
    fmt: str,
    force: bool,
    register_url: str | None,
    as_json: bool,
) -> None:
    """Issue a payment-incapacity declaration, one (--data) or a batch (--batch CSV)."""
    from rodeknop_vc import PaymentIncapacityDeclaration

    if batch_file:
        if data_file or holder_key or out:
            fail("bad_usage", "--batch goes with --out-dir, not with --data/--holder-key/--out")
        if not out_dir:
            fail("bad_usage", "--batch needs --out-dir")
        from ._batch import run_batch

        check_readable(batch_file, "batch file")
        sys.exit(
            run_batch(
                home, batch_file, out_dir, fmt=fmt, as_json=as_json, register_url=register_url
            )
        )
    if not (data_file and holder_key and out):
        fail("bad_usage", "give --data, --holder-key and --out (or --batch and --out-dir)")
    _issue_one(
        home,
        holder_key,
        data_file,
        fmt,
        out,
        force,
        PaymentIncapacityDeclaration,
        as_json,
        register_url=register_url,
    )


for _action in ("revoke", "suspend", "resume"):
    rodeknop.add_command(_lifecycle(_action))
rodeknop.add_command(_list_command())
rodeknop.add_command(_status_group())


blauweknop.add_command(ca)
issuer.add_command(issuer_certificate)


def _register_wallet() -> None:
    from ._oid4vci import receive
    from ._oid4vp_cmds import verifier, wallet_respond
    from ._wallet import wallet

    wallet.add_command(receive)
    wallet.add_command(wallet_respond)
    blauweknop.add_command(verifier)
    blauweknop.add_command(wallet)


_register_wallet()


def _register_reconcile() -> None:
    from ._register_cmds import reconcile_command

    blauweknop.add_command(reconcile_command("blauweknop"))
    rodeknop.add_command(reconcile_command("rodeknop"))


_register_reconcile()


def _register_oid4vci() -> None:
    from rodeknop_vc import PaymentIncapacityDeclaration

    from ._oid4vci import offer_command, serve_command

    blauweknop.add_command(offer_command(lambda: DebtStatement, "debt statement"))
    issuer.add_command(serve_command())
    rodeknop.add_command(offer_command(lambda: PaymentIncapacityDeclaration, "declaration"))
    rodeknop.add_command(serve_command(model_loader=lambda: PaymentIncapacityDeclaration))


_register_oid4vci()


def _register_programmes() -> None:
    from ._area import area
    from ._arrangement import arrangement

    blauweknop.add_command(arrangement)
    blauweknop.add_command(area)


_register_programmes()
