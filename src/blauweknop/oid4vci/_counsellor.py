"""The counsellor's page: make an offer for a prepared admission and hand it over (the QR code
to scan, the link for the same device, the PIN to say out loud), then see it arrive.

Plain HTML rendered here (no template engine), every value escaped, served by
:class:`~blauweknop.oid4vci.IssuerService` under ``/counsellor`` behind a bearer key, with a
strict Content-Security-Policy (inline script and style only with the page's nonce).
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Iterable

__all__ = ["csp", "form_page", "login_page", "new_nonce", "offer_page"]

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#111}
h1{font-size:1.4rem} .pin{font-size:2.4rem;letter-spacing:.4rem;font-weight:700}
.qr svg{width:18rem;height:18rem} .muted{color:#555} textarea{width:100%;height:14rem}
#status{font-weight:600} label{display:block;margin:.6rem 0 .2rem}
"""


def csp(nonce: str) -> str:
    """The page's Content-Security-Policy: nothing but its own nonce'd script and style, and
    fetches to itself (the status poll)."""
    return (
        "default-src 'none'; "
        f"script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


def new_nonce() -> str:
    """A fresh CSP nonce for one page."""
    return secrets.token_urlsafe(16)


def _page(title: str, body: str, nonce: str) -> str:
    return (
        '<!doctype html><html lang="nl"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<title>{html.escape(title)}</title><style nonce="{nonce}">{_STYLE}</style>'
        f"</head><body>{body}</body></html>"
    )


def login_page(nonce: str, error: str | None = None) -> str:
    """The login form for the counsellor's key (sets an HttpOnly, SameSite=Strict cookie)."""
    err = f'<p role="alert" id="error">{html.escape(error)}</p>' if error else ""
    body = (
        f"<h1>Inloggen / log in</h1>{err}"
        '<form method="post" action="/counsellor/login">'
        '<label for="key">Sleutel / key</label>'
        '<input id="key" name="key" type="password" autocomplete="off" required>'
        '<p><button type="submit" id="login">Inloggen / log in</button></p></form>'
    )
    return _page("Inloggen", body, nonce)


def form_page(
    issuer_name: str,
    configurations: Iterable[tuple[str, str]],
    nonce: str,
    error: str | None = None,
) -> str:
    """The form: choose the credential configuration, paste the prepared claims (JSON from
    the case system), with or without PIN."""
    options = "".join(
        f'<option value="{html.escape(cid)}">{html.escape(label)}</option>'
        for cid, label in configurations
    )
    err = f'<p role="alert" id="error">{html.escape(error)}</p>' if error else ""
    body = (
        f"<h1>{html.escape(issuer_name)}: credential aanbieden / offer a credential</h1>{err}"
        '<form method="post" action="/counsellor/offers">'
        '<label for="configuration">Soort / type</label>'
        f'<select id="configuration" name="configuration">{options}</select>'
        '<label for="claims">Gegevens (JSON) / claims (JSON)</label>'
        '<textarea id="claims" name="claims" required></textarea>'
        '<label><input type="checkbox" name="pin" value="1" checked> '
        "Met pincode / with PIN</label>"
        '<p><button type="submit" id="make">Aanbod maken / make offer</button></p></form>'
    )
    return _page("Credential aanbieden", body, nonce)


def offer_page(
    *,
    issuer_name: str,
    title: str,
    uri: str,
    qr_svg: str,
    tx_code: str | None,
    expires: str,
    status_url: str,
    nonce: str,
) -> str:
    """The hand-off: the QR code (inline SVG), the same-device link, the PIN, and a status line
    that turns to "received" when the wallet has the credential."""
    pin = (
        "<p>Geef deze pincode apart door / hand over this PIN separately:</p>"
        f'<p class="pin" id="pin">{html.escape(tx_code)}</p>'
        if tx_code
        else '<p id="pin" class="muted">Zonder pincode / without PIN</p>'
    )
    body = (
        f"<h1>{html.escape(issuer_name)}: {html.escape(title)}</h1>"
        "<p>Laat de burger deze code scannen met de wallet-app / let the citizen scan this "
        "code with the wallet app:</p>"
        f'<div class="qr" id="qr">{qr_svg}</div>'
        f'<p><a id="link" href="{html.escape(uri)}">Open in de app op dit apparaat / '
        "open in the app on this device</a></p>"
        f'{pin}<p class="muted">Geldig tot / valid until {html.escape(expires)}</p>'
        '<p id="status" aria-live="polite">Wacht op de wallet / waiting for the wallet'
        "</p>"
        f'<script nonce="{nonce}">'
        f"const u={_js_string(status_url)};"
        "const s=document.getElementById('status');"
        "async function poll(){try{const r=await fetch(u,{credentials:'same-origin'});"
        "if(r.ok){const j=await r.json();"
        "if(j.state==='issued'){s.textContent='Ontvangen / received';s.dataset.state='issued';"
        "return}if(j.state==='locked'){s.textContent='Geblokkeerd: te vaak een verkeerde "
        "pincode / locked: too many wrong PINs';s.dataset.state='locked';return}}}catch(e){}"
        "setTimeout(poll,1000)}poll();</script>"
    )
    return _page(title, body, nonce)


def _js_string(value: str) -> str:
    """A JavaScript string literal safe inside a <script> element."""
    import json

    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
