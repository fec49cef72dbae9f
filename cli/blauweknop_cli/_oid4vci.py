"""OpenID4VCI from the command line: ``offer`` and ``serve`` for the issuers
(``blauweknop offer`` / ``issuer serve``, ``rodeknop offer`` / ``serve``) and
``blauweknop wallet receive`` for the citizen's side (testing and pilots)."""

from __future__ import annotations

import io
import os
import sys
from typing import Any

import click

from blauweknop.oid4vci import IssuerService, OAuthError, asgi_app

from ._common import done, fail, handle_errors, read_bytes, read_json_object, write_output

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
#: The PIN may come from this variable instead of --pin (it stays out of shell history).
TX_CODE_ENV = "BLAUWEKNOP_TX_CODE"
ISSUER_URL_ENV = "BLAUWEKNOP_ISSUER_URL"
#: The counsellor page's key (enables /counsellor on `serve`).
COUNSELLOR_KEY_ENV = "BLAUWEKNOP_COUNSELLOR_KEY"

_ISSUER_URL = click.option(
    "--issuer-url",
    required=True,
    envvar=ISSUER_URL_ENV,
    help="The credential issuer's public URL (https; http only on 127.0.0.1/localhost), the same "
    f"for `offer` and `serve`. Default from {ISSUER_URL_ENV}.",
)
_HOME = click.option(
    "--home", required=True, type=click.Path(file_okay=False), help="Issuer home directory."
)


def offer_command(model_loader: Any, what: str) -> click.Command:
    """``offer``: make a credential offer for a prepared credential of ``model_loader``."""

    @click.command("offer", context_settings=CONTEXT)
    @_HOME
    @click.option(
        "--data",
        "data_file",
        required=True,
        type=click.Path(dir_okay=False),
        help=f"The {what} as a JSON object (the same file `issue --data` takes).",
    )
    @_ISSUER_URL
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["sd-jwt", "di"]),
        default="sd-jwt",
        show_default=True,
        help="sd-jwt: SD-JWT VC; di: W3C VC 2.0 with an ecdsa-sd-2023 proof.",
    )
    @click.option(
        "--pin/--no-pin",
        default=True,
        show_default=True,
        help="Protect the offer with a 6-digit PIN (tx_code) to hand over separately.",
    )
    @click.option(
        "--by-reference",
        is_flag=True,
        help="Put a credential_offer_uri in the link (a shorter QR code) instead of the offer.",
    )
    @click.option(
        "--valid-hours",
        type=click.IntRange(1, 24 * 14),
        default=24,
        show_default=True,
        help="Hours the offer can be redeemed.",
    )
    @click.option("--png", type=click.Path(dir_okay=False), help="Also write the QR code as PNG.")
    @click.option("--svg", type=click.Path(dir_okay=False), help="Also write the QR code as SVG.")
    @click.option("--no-qr", is_flag=True, help="Do not draw the QR code in the terminal.")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @handle_errors()
    def cmd(
        home: str,
        data_file: str,
        issuer_url: str,
        fmt: str,
        pin: bool,
        by_reference: bool,
        valid_hours: int,
        png: str | None,
        svg: str | None,
        no_qr: bool,
        as_json: bool,
    ) -> None:
        """Offer a credential to the citizen's app (OpenID4VCI): print the link, its QR code and
        the PIN. The citizen scans the code (or taps the link), types the PIN, and the app
        receives the credential from `serve`, bound to its own key."""
        import segno

        model = model_loader()
        data = model.from_claims(read_json_object(data_file, "data file"))
        svc = IssuerService.for_home(home, issuer_url=issuer_url)
        link = svc.create_offer(
            data, format=fmt, tx_code=pin, by_reference=by_reference, ttl=valid_hours * 3600
        )
        qr = segno.make(link.uri, error="m")
        for path, kind in ((png, "png"), (svg, "svg")):
            if path:
                buf = io.BytesIO()
                qr.save(buf, kind=kind, scale=6)
                write_output(path, buf.getvalue(), force=True)
        if as_json:
            done(
                True,
                "",
                offer_id=link.offer_id,
                uri=link.uri,
                tx_code=link.tx_code,
                expires_at=link.expires_at,
                png=png,
                svg=svg,
            )
            return
        if not no_qr:
            out = io.StringIO()
            qr.terminal(out=out, compact=True)
            click.echo(out.getvalue(), nl=False)
        click.echo(link.uri)
        if link.tx_code:
            click.echo(f"PIN (hand over separately): {link.tx_code}")

    return cmd


def serve_command(name: str = "serve", model_loader: Any = None) -> click.Command:
    """``serve``: run the issuer service with uvicorn (``model_loader``: the model class the
    counsellor's page builds prepared claims with)."""

    @click.command(name, context_settings=CONTEXT)
    @_HOME
    @_ISSUER_URL
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
    @click.option(
        "--port",
        type=click.IntRange(1, 65535),
        default=8080,
        show_default=True,
        help="Port to listen on.",
    )
    @click.option(
        "--batch-size",
        type=click.IntRange(1, 100),
        default=10,
        show_default=True,
        help="Most credentials (single-use copies) per request.",
    )
    @click.option(
        "--dpop-nonces",
        is_flag=True,
        help="Require server-provided DPoP nonces (RFC 9449 section 8) in token and credential "
        "requests.",
    )
    @click.option(
        "--json", "as_json", is_flag=True, help="Errors (before the service runs) as JSON."
    )
    @handle_errors()
    def cmd(
        home: str,
        issuer_url: str,
        host: str,
        port: int,
        batch_size: int,
        dpop_nonces: bool,
        as_json: bool,
    ) -> None:
        """Run the OpenID4VCI issuer service for this home (metadata, token, nonce, credential
        and notification endpoints). Put it behind TLS at --issuer-url. Stops on Ctrl-C.

        With BLAUWEKNOP_COUNSELLOR_KEY set (16+ characters), the counsellor's page at
        /counsellor makes offers and shows their QR code and PIN."""
        import uvicorn

        options: dict[str, Any] = {"dpop_nonces": dpop_nonces}
        key = os.environ.get(COUNSELLOR_KEY_ENV)
        if key:
            options["counsellor_key"] = key
            if model_loader is not None:
                model = model_loader()
                options["models"] = {model.vct: model}
        svc = IssuerService.for_home(home, issuer_url=issuer_url, batch_size=batch_size, **options)
        click.echo(f"serving {issuer_url} on http://{host}:{port} (Ctrl-C stops)", err=True)
        # No access log: request paths carry offer ids.
        uvicorn.run(asgi_app(svc), host=host, port=port, log_level="warning", access_log=False)

    return cmd


@click.command("receive", context_settings=CONTEXT)
@click.option(
    "--wallet",
    "wallet_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Wallet directory.",
)
@click.argument("offer")
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
@click.option("--pin", "pin", help=f"The PIN (tx_code); default from {TX_CODE_ENV} or a prompt.")
@click.option(
    "--copies",
    type=click.IntRange(1, 100),
    default=1,
    show_default=True,
    help="Ask for this many single-use copies, each bound to its own key.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors(rejections=True)
def receive(
    wallet_dir: str,
    offer: str,
    trust_list: str,
    anchor: str,
    pin: str | None,
    copies: int,
    as_json: bool,
) -> None:
    """Receive a credential from an offer link (openid-credential-offer://, haip://,
    haip-vci:// or https), verify it and store it. A refused PIN or credential exits 1."""
    from blauweknop import TrustList, Wallet

    from ._common import wallet_secret
    from .main import _load_public_key

    tl = TrustList.verify(
        read_bytes(trust_list, "trust list"), _load_public_key(anchor, "anchor key")
    )
    pin = pin or os.environ.get(TX_CODE_ENV) or None
    with Wallet.open(wallet_dir, passphrase=wallet_secret()) as w:
        try:
            got = w.receive(offer, trust_list=tl, tx_code=pin, copies=copies)
        except OAuthError as e:
            if e.code != "tx_code_required" or not sys.stdin.isatty():
                raise
            pin = str(click.prompt("PIN", hide_input=True, err=True))
            got = w.receive(offer, trust_list=tl, tx_code=pin, copies=copies)
    creds = [r.credential for r in got]
    if not creds:
        fail("issuer_response_invalid", "no credential received", exit_code=1)
    first = creds[0]
    done(
        as_json,
        f"received {len(creds)} x {first.vct} from {first.issuer_name} ({first.format})",
        count=len(creds),
        credentials=[c.to_json() for c in creds],
    )
