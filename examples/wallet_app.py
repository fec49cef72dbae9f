"""An app that embeds the citizen's wallet (``blauweknop.Wallet``).

What the app does, in order:

1. create the wallet with a raw 32-byte key, as an app gets one from the phone's keystore
   (Android Keystore, iOS Keychain), and hand the public holder key to the issuers;
2. import the credentials the issuers send; each one is verified against the scheme's trust
   list before it is stored (encrypted);
3. show the citizen's overview: what is owed per creditor, the Rode Knop pause;
4. when a creditor asks something (a DCQL request), plan the answer and show the consent
   screen: exactly which claims would leave the phone (``plan.to_dict()``);
5. after consent, present: one ``vp_token`` bound to the creditor's nonce and identifier.

The issuers' side is played by this script too (the block marked "ISSUERS' SIDE"), so it runs
on its own. All people, organisations and keys are fictional.

Run: ``python examples/wallet_app.py [--request FILE] [--out VP_TOKEN.json]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import sys
import tempfile
from pathlib import Path

from blauweknop import (
    BlauweKnopError,
    Issuer,
    Key,
    TrustList,
    Wallet,
    build_trust_list,
)
from blauweknop.debt import DebtStatement
from rodeknop_vc import PaymentIncapacityDeclaration

DATA = Path(__file__).resolve().parent / "data"
CJIB = "urn:oin:00000001003214345000"
EINDHOVEN = "urn:oin:00000001001234567000"


def eur(cents: int) -> str:
    return f"EUR {cents / 100:,.2f}"


def issuers_side(work: Path, holder_jwk: dict[str, str]) -> tuple[str, list[str]]:
    """ISSUERS' SIDE: a municipality and a creditor issue to the wallet's holder key, and the
    scheme authority signs the trust list. Returns (trust list JWT, credential texts)."""
    anchor = Key.generate()
    (work / "anchor.pub.jwk").write_text(json.dumps(anchor.public_jwk()))
    gemeente = Issuer.init(
        work / "eindhoven",
        issuer_id=EINDHOVEN,
        name="Gemeente Eindhoven",
        roles=["municipality"],
        status_base_uri="https://status.eindhoven.example/rk",
    )
    cjib = Issuer.init(
        work / "cjib",
        issuer_id=CJIB,
        name="CJIB",
        roles=["creditor"],
        status_base_uri="https://status.cjib.example/bk",
    )
    trust_jwt = build_trust_list(
        [gemeente.trust_entry(), cjib.trust_entry()], anchor, valid_days=30
    )
    # A fresh admission: the pause runs from today for four months.
    today = dt.date.today()
    claims = json.loads((DATA / "rode-knop-declaration.json").read_text())
    claims |= {
        "trajectory_start": today.isoformat(),
        "valid_from": today.isoformat(),
        "valid_until": (today + dt.timedelta(days=119)).isoformat(),
    }
    declaration = gemeente.issue(
        PaymentIncapacityDeclaration.from_claims(claims), holder_jwk=holder_jwk
    )
    statement = cjib.issue(
        DebtStatement.from_claims(json.loads((DATA / "debt-statement.json").read_text())),
        holder_jwk=holder_jwk,
    )
    return trust_jwt, [declaration.text, statement.text]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--request",
        type=Path,
        default=DATA / "requests" / "hold-and-totals.json",
        help="the creditor's DCQL request (JSON)",
    )
    ap.add_argument("--out", type=Path, help="write the vp_token here")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="wallet-app-"))

    # -- 1. Create the wallet with the keystore's key ------------------------------------
    # In the app: a 32-byte key that never leaves the phone's keystore. Here: random bytes.
    keystore_key = os.urandom(32)
    wallet_dir = work / "wallet"
    with Wallet.create(wallet_dir, key=keystore_key) as wallet:
        holder_jwk = wallet.holder_jwk()  # public: this is what the issuers bind to
    print(f"wallet created in {wallet_dir}; holder key {holder_jwk['kid']}")

    trust_jwt, credentials = issuers_side(work, holder_jwk)

    # The app pins the scheme authority's key (shipped with the app) and keeps the trust
    # list fresh (downloaded now and then; it is signed, so any copy will do).
    anchor = Key.from_jwk(json.loads((work / "anchor.pub.jwk").read_text()))
    trust = TrustList.verify(trust_jwt, anchor)

    # Every later start of the app: open the wallet with the same key.
    with Wallet.open(wallet_dir, key=keystore_key) as wallet:
        # -- 2. Import ---------------------------------------------------------------------
        for text in credentials:
            try:
                result = wallet.add(text, trust_list=trust)
            except BlauweKnopError as e:  # e.g. untrusted_issuer, holder_mismatch, expired
                print(f"refused [{e.code}]: {e.message}")
                continue
            c = result.credential
            print(f"stored {c.vct} from {c.issuer_name} (state {c.state})")

        # -- 3. Overview ---------------------------------------------------------------------
        ov = wallet.overview()
        print(f"\nYour debts on {ov.as_of}:")
        for line in ov.creditors:
            print(
                f"  {line.creditor:<36} outstanding {eur(line.outstanding):>14}"
                f"   in arrears {eur(line.in_arrears):>12}"
            )
        print(f"  {'TOTAL':<36} outstanding {eur(ov.total_outstanding):>14}")
        if ov.pause:
            print(
                f"  Rode Knop pause by {ov.pause.municipality} until {ov.pause.valid_until}"
                f" ({ov.pause.days_left} days left)"
            )
        for note in ov.notes:  # e.g. an expired statement: ask the creditor for a new one
            print(f"  note: {note}")

        # -- 4. A creditor asks: plan, and show the consent screen -----------------------------
        request = json.loads(args.request.read_text())
        plan = wallet.plan(request)
        print("\nConsent screen (plan.to_dict()):")
        print(json.dumps(plan.to_dict(), indent=2, ensure_ascii=False))
        if not plan.satisfiable:
            for m in plan.missing:
                print(f"cannot answer: [{m.code}] {m.message}")
            return 1

        # -- 5. The citizen agreed: present ---------------------------------------------------
        # The nonce and the creditor's identifier come with the request (OpenID4VP).
        nonce, audience = secrets.token_urlsafe(16), CJIB
        vp_token = wallet.present(plan, nonce=nonce, audience=audience)
    n = sum(len(v) for v in vp_token.values())
    print(f"\nvp_token for {audience}: {n} presentation(s) for {', '.join(vp_token)}")
    if args.out:
        args.out.write_text(json.dumps(vp_token, indent=2) + "\n")
        print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
