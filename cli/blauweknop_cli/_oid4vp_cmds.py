"""OpenID4VP from the command line (specs/oid4vp.md): the creditor's ``blauweknop verifier
serve|request|result`` and the citizen's ``blauweknop wallet respond REQUEST_URI``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from blauweknop import RODE_KNOP_VCT, Key, PresentationResult, TrustList, Verifier
from blauweknop.oid4vp import SessionStore, VerifierService, WalletResponder, verifier_app
from blauweknop.x509 import encode_x5c, load_certificates

from ._ca import load_roots
from ._common import JsonGroup, done, echo_json, fail, handle_errors, read_bytes, read_json

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


F = TypeVar("F", bound=Callable[..., Any])


def _opt(*names: str, **kw: Any) -> Callable[[F], F]:
    deco: Callable[[F], F] = click.option(*names, **kw)
    return deco


TRUST = _opt("--trust-list", required=True, type=click.Path(dir_okay=False), help="Trust list.")
ANCHOR = _opt(
    "--anchor", required=True, type=click.Path(dir_okay=False), help="Scheme authority's key."
)
CA_ROOT = _opt(
    "--ca-root",
    "ca_roots",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False),
    help="Pinned root certificate(s) of the scheme CA (PEM); repeatable.",
)
JSON = _opt("--json", "as_json", is_flag=True, help="Machine-readable output.")


def _trust(trust_list: str, anchor: str, roots: list[Any]) -> TrustList:
    from .main import _load_public_key

    return TrustList.verify(
        read_bytes(trust_list, "trust list"),
        _load_public_key(anchor, "anchor key"),
        x509_roots=roots,
    )


def hold_decision_json(result: PresentationResult, now: float) -> Mapping[str, Any] | None:
    """The Rode Knop hold decision for a verified result (``None`` without a declaration)."""
    from rodeknop_vc import hold_decision

    found = result.of_type(RODE_KNOP_VCT)
    if not found:
        return None
    return hold_decision(found[0], today=dt.datetime.fromtimestamp(now, dt.UTC).date()).to_json()


# -- the creditor ---------------------------------------------------------------------------
@click.group(cls=JsonGroup, context_settings=CONTEXT)
def verifier() -> None:
    """The creditor's OpenID4VP verifier: signed requests, encrypted responses, results."""


def _service_options(fn: F) -> F:
    for deco in reversed(
        [
            TRUST,
            ANCHOR,
            CA_ROOT,
            _opt(
                "--key",
                required=True,
                type=click.Path(dir_okay=False),
                help="The private key of your verifier certificate (JWK, 0600).",
            ),
            _opt(
                "--cert",
                required=True,
                type=click.Path(dir_okay=False),
                help="Your certificate chain (PEM, leaf first; the root may be left out).",
            ),
            _opt("--base-url", required=True, help="Public base URL of the verifier service."),
            _opt(
                "--sessions",
                required=True,
                type=click.Path(dir_okay=False),
                help="Session store (SQLite file, shared by serve/request/result).",
            ),
            _opt("--status-dir", type=click.Path(file_okay=False), help="Status cache."),
            _opt(
                "--lifetime",
                type=click.IntRange(30, 3600),
                default=300,
                show_default=True,
                help="Seconds a request may be answered.",
            ),
        ]
    ):
        fn = deco(fn)
    return fn


def _service(kw: dict[str, Any]) -> VerifierService:
    roots = load_roots(kw["ca_roots"])
    tl = _trust(kw["trust_list"], kw["anchor"], roots)
    status = None
    if kw.get("status_dir"):
        from blauweknop import StatusCache

        status = StatusCache(kw["status_dir"])
    chain = load_certificates(kw["cert"])
    return VerifierService(
        verifier=Verifier(tl, status=status),
        signer=Key.load(kw["key"]),
        x5c=encode_x5c(chain),
        base_url=kw["base_url"],
        store=SessionStore(kw["sessions"]),
        decide=hold_decision_json,
        lifetime=kw["lifetime"],
    )


@verifier.command("serve", context_settings=CONTEXT)
@_service_options
@_opt(
    "--request",
    "requests",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A DCQL request the page offers (JSON; named by its file name); repeatable.",
)
@_opt("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@_opt("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="Port.")
@JSON
@handle_errors()
def verifier_serve(
    requests: tuple[str, ...], host: str, port: int, as_json: bool, **kw: Any
) -> None:
    """Run the verifier: the creditor's page, request objects and the response endpoint.

    With --json, one line {"ok": true, "client_id", "base_url"} is printed when it starts."""
    import uvicorn

    service = _service(kw)
    offered = {Path(r).stem: read_json(r, "DCQL request") for r in requests}
    if as_json:
        echo_json({"ok": True, "client_id": service.client_id, "base_url": service.base_url})
    else:
        click.echo(f"serving {service.client_id} at {service.base_url} (Ctrl-C stops)", err=True)
    uvicorn.run(verifier_app(service, offered), host=host, port=port, log_level="warning")


@verifier.command("request", context_settings=CONTEXT)
@_service_options
@_opt(
    "--request",
    "request_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="The DCQL request (JSON).",
)
@JSON
@handle_errors()
def verifier_request(request_file: str, as_json: bool, **kw: Any) -> None:
    """Create a request; print the wallet link and the session id (for `verifier result`)."""
    service = _service(kw)
    handle = service.create_request(read_json(request_file, "DCQL request"))
    if as_json:
        echo_json(
            {
                "ok": True,
                "session_id": handle.session_id,
                "wallet_url": handle.wallet_url,
                "request_uri": handle.request_uri,
                "client_id": handle.client_id,
                "expires_at": int(handle.expires_at),
            }
        )
        return
    click.echo(f"session: {handle.session_id}")
    click.echo(f"wallet link: {handle.wallet_url}")


@verifier.command("result", context_settings=CONTEXT)
@click.argument("session_id")
@_opt(
    "--sessions",
    required=True,
    type=click.Path(dir_okay=False, exists=True),
    help="Session store (SQLite file).",
)
@JSON
@handle_errors(rejections=True)
def verifier_result(session_id: str, sessions: str, as_json: bool) -> None:
    """Print a session's state: pending, expired, or the verified result and hold decision."""
    session = SessionStore(sessions).get(session_id)
    if session is None:
        fail("session_unknown", "no such session", exit_code=1, as_json=as_json)
    if session.status != "done" or session.result is None:
        state = "pending" if not session.expired(dt.datetime.now(dt.UTC).timestamp()) else "expired"
        if as_json:
            echo_json({"ok": True, "status": state, "last_error": session.last_error})
        else:
            click.echo(
                state + (f" (last refused: {session.last_error})" if session.last_error else "")
            )
        return
    result = dict(session.result)
    if as_json:
        echo_json({"ok": True, "status": "done", "result": result})
        return
    for c in result["credentials"]:
        click.echo(f"verified [{c['query_id']}] {c['vct']} from {c['issuer_name']}")
    decision = result.get("decision")
    if decision:
        click.echo(
            f"hold: collection on hold until {decision['hold_until']}"
            if decision["hold"]
            else f"no hold: {decision['reason']}"
        )


# -- the citizen ----------------------------------------------------------------------------
@click.command("respond", context_settings=CONTEXT)
@click.argument("request_uri")
@_opt("--wallet", "wallet_dir", required=True, type=click.Path(file_okay=False), help="Wallet.")
@TRUST
@ANCHOR
@CA_ROOT
@_opt("--yes", is_flag=True, help="Consent without asking (scripts and tests).")
@_opt(
    "--allow-over-asking",
    is_flag=True,
    help="Answer even if the creditor asks beyond its registration (NOT recommended).",
)
@JSON
@handle_errors(rejections=True)
def wallet_respond(
    request_uri: str,
    wallet_dir: str,
    trust_list: str,
    anchor: str,
    ca_roots: tuple[str, ...],
    yes: bool,
    allow_over_asking: bool,
    as_json: bool,
) -> None:
    """Answer an OpenID4VP request (openid4vp://, haip://, haip-vp:// link): check who asks,
    show what will be disclosed, ask for consent, send the encrypted response."""
    from ._wallet import _open, _print_plan

    roots = load_roots(ca_roots)
    tl = _trust(trust_list, anchor, roots)
    with _open(wallet_dir) as w:
        responder = WalletResponder(
            w, trust_list=tl, roots=roots, allow_over_asking=allow_over_asking
        )
        received = responder.fetch(request_uri)
        if not as_json:
            click.echo(f"request from {received.verifier_name} ({received.client_id})")
            for line in received.over_asking:
                click.echo(f"  ASKS MORE THAN REGISTERED: {line}")

        def consent(request: Any, plan: Any) -> bool:
            if not as_json:
                _print_plan(plan)
            return yes or (not as_json and click.confirm("send this?", default=False))

        outcome = responder.respond(received, consent=consent)
    if as_json:
        echo_json(
            {
                "ok": True,
                "verifier": received.verifier_name,
                "answered": list(outcome.query_ids),
                "redirect_uri": outcome.redirect_uri,
            }
        )
    else:
        done(False, f"sent; the creditor continues at {outcome.redirect_uri}")
