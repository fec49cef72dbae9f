"""The Rode Knop / Blauwe Knop pilot, end to end, on the embedded defaults (SQLite + files).

Gemeente Eindhoven admits Eva Jansen (fictional) to debt relief and issues a payment-incapacity
declaration; CJIB and DUO issue debt statements; her wallet shows her overview, then answers
CJIB's request with the declaration plus the outstanding totals; CJIB verifies offline and
decides to put collection on hold. Finally the municipality revokes the declaration (the
trajectory ended) and CJIB, with the fresh status list, refuses it.

Run: ``make demo`` (or ``python examples/pilot.py [--format di] [--out-dir DIR]``).
All data is fictional.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

from blauweknop import (
    BlauweKnopError,
    Issuer,
    Key,
    StatusCache,
    TrustList,
    Verifier,
    Wallet,
    build_trust_list,
)
from blauweknop.debt import DebtStatement
from rodeknop_vc import RODE_KNOP_VCT, PaymentIncapacityDeclaration, hold_decision

HERE = Path(__file__).parent
DATA = HERE / "data"
CJIB = "urn:oin:00000001003214345000"
DUO = "urn:oin:00000001800866472000"
EINDHOVEN = "urn:oin:00000001001234567000"
#: The pilot runs on a fixed day so its output is the same every time.
PILOT_DAY = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC)


def step(text: str) -> None:
    print(f"\n== {text}")


def eur(cents: int) -> str:
    return f"EUR {cents / 100:,.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--format",
        choices=["sd-jwt", "di"],
        default="sd-jwt",
        help="credential encoding (SD-JWT VC or W3C VC with ecdsa-sd-2023)",
    )
    ap.add_argument("--out-dir", type=Path, help="keep the homes, wallet and files here")
    args = ap.parse_args(argv)
    work = args.out_dir or Path(tempfile.mkdtemp(prefix="blauweknop-pilot-"))
    if args.out_dir and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    now = PILOT_DAY.timestamp()
    fmt = args.format

    step("Set-up: the scheme authority, three organisations and the citizen's wallet")
    anchor = Key.generate()
    eindhoven = Issuer.init(
        work / "eindhoven",
        issuer_id=EINDHOVEN,
        name="Gemeente Eindhoven",
        roles=["municipality"],
        status_base_uri="https://status.eindhoven.example/rk",
        extra={"municipality_code": "GM0772"},
    )
    cjib = Issuer.init(
        work / "cjib",
        issuer_id=CJIB,
        name="CJIB",
        roles=["creditor"],
        status_base_uri="https://status.cjib.example/bk",
    )
    duo = Issuer.init(
        work / "duo",
        issuer_id=DUO,
        name="DUO",
        roles=["creditor"],
        status_base_uri="https://status.duo.example/bk",
    )
    trust_jwt = build_trust_list(
        [i.trust_entry() for i in (eindhoven, cjib, duo)], anchor, valid_days=30, now=now
    )
    trust = TrustList.verify(trust_jwt, anchor.public(), now=now)
    print(
        f"trust list: {', '.join(o.name for o in trust.organisations.values())}"
        " (signed by the scheme authority)"
    )
    wallet = Wallet.create(
        work / "wallet",
        passphrase="demo passphrase (fictional)",  # noqa: S106 (fictional demo)
        scrypt_n=2**14,
    )
    holder = wallet.holder_jwk()
    print(f"wallet created, holder key {holder['kid'][:16]}...")

    step(f"Issuance ({'SD-JWT VC' if fmt == 'sd-jwt' else 'W3C VC + ecdsa-sd-2023'})")
    decl = PaymentIncapacityDeclaration.from_claims(
        json.loads((DATA / "rode-knop-declaration.json").read_text())
    )
    creds = [
        eindhoven.issue(decl, holder_jwk=holder, format=fmt, now=now),
        cjib.issue(
            DebtStatement.from_claims(json.loads((DATA / "debt-statement.json").read_text())),
            holder_jwk=holder,
            format=fmt,
            now=now,
        ),
        duo.issue(
            DebtStatement.from_claims(json.loads((DATA / "debt-statement-duo.json").read_text())),
            holder_jwk=holder,
            format=fmt,
            now=now,
        ),
    ]
    for c in creds:
        print(f"issued {c.credential_id}: {c.vct} ({len(c.text)} bytes)")
        wallet.add(c.text, trust_list=trust, now=now)

    step("The citizen's overview (inzicht en overzicht)")
    ov = wallet.overview(today=PILOT_DAY.date())
    for line in ov.creditors:
        print(
            f"  {line.creditor:<32} outstanding {eur(line.outstanding):>14}"
            f"   in arrears {eur(line.in_arrears):>12}"
        )
    print(
        f"  {'TOTAL':<32} outstanding {eur(ov.total_outstanding):>14}"
        f"   in arrears {eur(ov.total_in_arrears):>12}"
    )
    if ov.pause:
        print(
            f"  Rode Knop pause by {ov.pause.municipality} until {ov.pause.valid_until} "
            f"({ov.pause.days_left} days left)"
        )

    step("CJIB asks: under debt relief? until when? what do you owe the others in total?")
    suffix = "" if fmt == "sd-jwt" else "-di"
    request = json.loads((DATA / "requests" / f"hold-and-totals{suffix}.json").read_text())
    nonce = secrets.token_urlsafe(16)
    plan = wallet.plan(request, now=now)
    for qid, items in plan.presentations().items():
        for d in items:
            shown = ", ".join(
                ".".join(str(x) for x in p if x != "credentialSubject") for p in d.disclose_paths
            )
            print(f"  [{qid}] discloses: {shown}")
    vp_token = wallet.present(plan, nonce=nonce, audience=CJIB, now=now)
    (work / "vp_token.json").write_text(json.dumps(vp_token, indent=2))
    print(
        f"  vp_token: {sum(len(v) for v in vp_token.values())} presentation(s),"
        " bound to nonce and audience"
    )

    step("CJIB verifies offline (cached trust list and status lists; no network)")
    status_dir = work / "cjib-status-cache"
    cache = StatusCache(status_dir, trust_list=trust)
    for issuer in (eindhoven, cjib, duo):
        for f in issuer.publish_status(
            work / "published" / issuer.config["name"].split()[-1].lower(), now=now
        ):
            cache.import_file(f, fetched_at=now)
    verifier = Verifier(trust, status=cache)
    result = verifier.verify(vp_token, nonce=nonce, audience=CJIB, request=request, now=now)
    for c in result.credentials:
        print(
            f"  verified {c.vct.split(':')[-2]} from {c.issuer_name}:"
            f" {json.dumps(c.claims, ensure_ascii=False)[:110]}..."
        )
    decision = hold_decision(result.of_type(RODE_KNOP_VCT)[0], today=PILOT_DAY.date())
    print(
        f"\nCJIB DECISION: {'PUT COLLECTION ON HOLD' if decision.hold else 'NO HOLD'} "
        f"until {decision.hold_until} ({', '.join(decision.measures)})"
    )

    step("The trajectory ends: Gemeente Eindhoven revokes the declaration")
    eindhoven.revoke(
        decl.declaration_id, reason="debt-relief trajectory ended", actor="demo operator"
    )
    for f in eindhoven.publish_status(work / "published" / "eindhoven", now=now + 60):
        cache.import_file(f, fetched_at=now + 60)
    nonce2 = secrets.token_urlsafe(16)
    vp2 = wallet.present(request, nonce=nonce2, audience=CJIB, now=now + 120)
    try:
        verifier.verify(vp2, nonce=nonce2, audience=CJIB, request=request, now=now + 120)
    except BlauweKnopError as e:
        print(f"CJIB REJECTS the declaration: [{e.code}] {e.message}")
    else:
        print("ERROR: a revoked declaration was accepted", file=sys.stderr)
        return 1
    wallet.close()
    print(f"\nfiles kept in {work}" if args.out_dir else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
