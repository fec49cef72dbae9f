"""The Rode Knop / Blauwe Knop pilot, end to end, on the embedded defaults (SQLite + files).

Gemeente Eindhoven admits Eva Jansen (fictional) to debt relief and issues a payment-incapacity
declaration; CJIB and DUO issue debt statements; her wallet shows her overview, then answers
CJIB's request with the declaration plus the outstanding totals; CJIB verifies offline and
decides to put collection on hold. The arrangement coordinator (Betalingsregeling Rijk) then
turns her CJIB and DUO statements into one payment arrangement, and CJIB and DUO each verify
their own share. The municipality revokes the declaration (the trajectory ended) and CJIB, with
the fresh status list, refuses it. Finally, a month later, the issuers' area reports and the
monitor's combined figures per postcode area, with a chart.

Run: ``make demo`` (or ``python examples/pilot.py [--format di] [--out-dir DIR]``).
All data is fictional.
"""

from __future__ import annotations

import argparse
import csv
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
from blauweknop.area import (
    Pseudonymiser,
    area_report,
    combine,
    render_chart,
    signed_extract,
    verify_area_report,
)
from blauweknop.arrangement import (
    ArrangementCoordinator,
    creditor_request,
    creditor_share,
    statements_request,
)
from blauweknop.debt import DebtStatement
from blauweknop.files import atomic_write
from rodeknop_vc import RODE_KNOP_VCT, PaymentIncapacityDeclaration, hold_decision

HERE = Path(__file__).parent
DATA = HERE / "data"
CJIB = "urn:oin:00000001003214345000"
DUO = "urn:oin:00000001800866472000"
EINDHOVEN = "urn:oin:00000001001234567000"
BRR = "urn:oin:00000001821002193000"
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

    def clock() -> float:  # the registers' clock: the pilot's day
        return now

    step("Set-up: the scheme authority, three organisations and the citizen's wallet")
    anchor = Key.generate()
    eindhoven = Issuer.init(
        work / "eindhoven",
        issuer_id=EINDHOVEN,
        name="Gemeente Eindhoven",
        roles=["municipality"],
        status_base_uri="https://status.eindhoven.example/rk",
        extra={"municipality_code": "GM0772"},
        clock=clock,
    )
    cjib = Issuer.init(
        work / "cjib",
        issuer_id=CJIB,
        name="CJIB",
        roles=["creditor"],
        status_base_uri="https://status.cjib.example/bk",
        clock=clock,
    )
    duo = Issuer.init(
        work / "duo",
        issuer_id=DUO,
        name="DUO",
        roles=["creditor"],
        status_base_uri="https://status.duo.example/bk",
        clock=clock,
    )
    brr = Issuer.init(
        work / "brr",
        issuer_id=BRR,
        name="Betalingsregeling Rijk",
        roles=["arrangement_coordinator"],
        status_base_uri="https://status.brr.example/arr",
        clock=clock,
    )
    trust_jwt = build_trust_list(
        [i.trust_entry() for i in (eindhoven, cjib, duo, brr)], anchor, valid_days=30, now=now
    )
    trust = TrustList.verify(trust_jwt, anchor.public(), now=now)
    (work / "trust.jwt").write_text(trust_jwt)
    (work / "anchor.pub.jwk").write_text(json.dumps(anchor.public_jwk()))
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

    step("Betalingsregeling Rijk: one payment arrangement across CJIB and DUO")
    coordinator = ArrangementCoordinator(brr, verifier)
    arr_request = statements_request(format=fmt)
    nonce3 = secrets.token_urlsafe(16)
    statements_vp = wallet.present(arr_request, nonce=nonce3, audience=BRR, now=now)
    proposal = coordinator.propose(
        statements_vp,
        nonce=nonce3,
        audience=BRR,
        monthly_amount=45000,  # agreed with the citizen: EUR 450 a month for all creditors
        start_date=dt.date(2027, 1, 1),
        arrangement_id="BRR-2026-000042",
        request=arr_request,
        now=now,
    )
    arr = proposal.arrangement
    print(
        f"  {eur(arr.monthly_amount)} a month, split pro rata in whole cents"
        f" (largest remainder); pause {arr.pause.start_date} .. {arr.pause.end_date}"
        if arr.pause
        else f"  {eur(arr.monthly_amount)} a month"
    )
    for x in arr.creditors:
        print(
            f"  {x.name:<6} owed {eur(x.outstanding):>14}  share {eur(x.installment_amount):>11}"
            f"  x {x.number_of_installments} (last {eur(x.last_installment_amount)})"
            f"  {x.first_due_date} .. {x.last_due_date}"
        )
    shares = sum(x.installment_amount for x in arr.creditors)
    print(f"  {'TOTAL':<6} owed {eur(arr.total_outstanding):>14}  share {eur(shares):>11}")
    arr_cred = coordinator.issue(proposal, format=fmt, now=now)
    wallet.add(arr_cred.text, trust_list=trust, now=now)
    for f in brr.publish_status(work / "published" / "brr", now=now):
        cache.import_file(f, fetched_at=now)
    for oin, name in ((CJIB, "CJIB"), (DUO, "DUO")):
        req = creditor_request(oin[8:], format=fmt)
        n = secrets.token_urlsafe(16)
        vp = wallet.present(req, nonce=n, audience=oin, now=now)
        got = verifier.verify(vp, nonce=n, audience=oin, request=req, now=now).credentials[0]
        share = creditor_share(got, oin[8:])
        print(
            f"{name} VERIFIES its share: {eur(share.line.installment_amount)} a month,"
            f" {share.line.number_of_installments} instalments from {share.line.first_due_date},"
            f" cases {', '.join(share.line.covered_cases or ())};"
            f" other creditors' lines shown: {share.other_lines}"
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

    step("Area signals for prevention: December, the November figures per postcode area (PC4)")
    area_figures(work, (eindhoven, cjib, duo), trust, now)
    print(f"\nfiles kept in {work}" if args.out_dir else "")
    return 0


def area_figures(work: Path, issuers: tuple[Issuer, ...], trust: TrustList, now: float) -> None:
    """The issuers record a PC4 per credential (examples/data/area-population.csv, fictional
    people), report November with suppression (k = 5 for this small population), and a
    monitor combines them over keyed pseudonyms and draws a chart.

    The scheme's pseudonymisation party has a P-256 key pair and an HMAC key; the issuers
    hold only its public key (``area-party.pub.jwk``) and record each BSN sealed to it."""
    eindhoven, cjib, duo = issuers
    party = Pseudonymiser.generate()  # the party's keys; they stay in its own folder
    (work / "area-party").mkdir(exist_ok=True)
    party_files = {
        "party.jwk": json.dumps(party.private_jwk()),
        "pseudonym.key": secrets.token_hex(32),
    }
    for name, text in party_files.items():  # private: 0600 from the start
        atomic_write(work / "area-party" / name, (text + "\n").encode(), mode=0o600)
    party = Pseudonymiser(bytes.fromhex(party_files["pseudonym.key"]), party.private_jwk())
    (work / "area-party" / "party.pub.jwk").write_text(json.dumps(party.public_jwk()) + "\n")
    for issuer in issuers:
        (issuer.home / "area-party.pub.jwk").write_text(json.dumps(party.public_jwk()) + "\n")
    holder = Key.generate().public_jwk()
    st = json.loads((DATA / "debt-statement.json").read_text())
    st_duo = json.loads((DATA / "debt-statement-duo.json").read_text())
    decl = json.loads((DATA / "rode-knop-declaration.json").read_text())
    with (DATA / "area-population.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    for n, row in enumerate(rows):
        who = {"bsn": row["bsn"], "family_name": f"Inwoner {n}"}
        for issuer, base, key in ((cjib, st, "cjib"), (duo, st_duo, "duo")):
            owed, late = int(row[f"{key}_outstanding"]), int(row[f"{key}_in_arrears"])
            if owed:
                claims = {**base, "statement_id": f"{base['statement_id']}-A{n:03d}"}
                claims.pop("cases")
                claims["subject"] = {**base["subject"], **who}
                claims["totals"] = {
                    "imposed": owed,
                    "settled": 0,
                    "outstanding": owed,
                    "in_arrears": late,
                    "number_of_cases": 1,
                }
                data = DebtStatement.from_claims(claims)
                issuer.issue(data, holder_jwk=holder, now=now, area=row["pc4"])
        if row["rode_knop"] == "1":
            claims = {**decl, "declaration_id": f"GM0772-RK-2026-A{n:03d}"}
            claims["subject"] = {**decl["subject"], **who}
            eindhoven.issue(
                PaymentIncapacityDeclaration.from_claims(claims),
                holder_jwk=holder,
                now=now,
                area=row["pc4"],
            )
    december = now + 12 * 86400  # the monthly snapshot (1 December) has passed
    k = 5  # a small demo population; the default threshold is 10
    report = area_report(cjib, "2026-11", k=k, now=december)
    token = report.sign(cjib)
    checked = verify_area_report(token, trust, now=december)
    print(f"CJIB's signed report (area-report+jwt, verified offline): people, k = {checked.k}")
    for line in checked.lines():
        print("  " + line)
    # the party opens each sealed BSN, keys it at once and drops it; the monitor combines
    combined = combine(
        [
            party.apply(signed_extract(i, "2026-11", now=december), trust, now=december)
            for i in issuers
        ],
        k=k,
    )
    print("The monitor's combined figures (distinct people over the party's keyed pseudonyms):")
    cols = combined.measures
    print("  " + f"{'PC4':<6}" + "".join(f"{c:>14}" for c in cols))
    for pc4, cells in combined.areas.items():
        shown = "".join(
            f"{('<' + str(combined.k)) if cells[c] is None else str(cells[c]):>14}" for c in cols
        )
        print(f"  {pc4:<6}{shown}")
    png, svg = render_chart(combined, work / "area-chart")
    print(f"chart written: {png} and {svg}")


if __name__ == "__main__":
    sys.exit(main())
