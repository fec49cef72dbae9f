"""The citizen's wallet (issue "The citizen's wallet"): import, states, overview, plan,
present, and storage at rest.

The issuers and the trust list are the shared scheme's (tests/scheme.py), once per module;
every test makes its own small wallet (scrypt n = 2**10) and has credentials issued to its
holder key. Time is injected everywhere: the pilot's day 2026-11-22T10:00Z.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scheme import CJIB, DUO, GEM, PILOT_NOW, STRANGER, Scheme

from blauweknop import (
    DEBT_STATEMENT_VCT,
    RODE_KNOP_VCT,
    SDJWT,
    HolderBindingError,
    InvalidDataError,
    IssuedCredential,
    Issuer,
    MalformedError,
    PolicyError,
    SignatureError,
    StatusCache,
    StatusError,
    StorageError,
    TrustError,
    Verifier,
    Wallet,
    get_profile,
)
from blauweknop.debt import DebtStatement
from rodeknop_vc import PaymentIncapacityDeclaration

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data"
NOW = PILOT_NOW
TODAY = dt.date(2026, 11, 22)
DAY = 86400
NONCE = "n-wallet-2026-11-22"
PASS = "wallet tests (fictional)"


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def request(name: str) -> dict[str, Any]:
    return json.loads((DATA / "requests" / name).read_text())


@pytest.fixture(scope="module")
def scheme(pilot_scheme: Scheme) -> Scheme:
    """The shared scheme (tests/scheme.py): Gemeente Eindhoven, CJIB and DUO on the trust
    list, and a stranger (a creditor the scheme authority never listed); no wallet."""
    assert pilot_scheme.now == NOW and pilot_scheme.stranger.issuer_id == STRANGER
    return pilot_scheme


def status_verifier(scheme: Scheme, tmp: Path, **kw: Any) -> Verifier:
    """A verifier with a status cache as the issuers publish it right now."""
    cache = scheme.status_cache(tmp / "verifier-cache", tmp / "published")
    return Verifier(scheme.trust, status=cache, **kw)


@pytest.fixture
def wallet(tmp_path: Path) -> Iterator[Wallet]:
    w = Wallet.create(tmp_path / "wallet", passphrase=PASS, scrypt_n=2**10)
    yield w
    w.close()


_serial = count(1000)


def issue_statement(
    issuer: Issuer,
    holder: dict[str, str],
    file: str = "debt-statement.json",
    *,
    fmt: str = "sd-jwt",
    valid_days: int | None = None,
    now: float = NOW,
    **changes: Any,
) -> IssuedCredential:
    data = load(file)
    data.update(changes)
    data["statement_id"] = f"{data['creditor']['code']}-T{next(_serial)}"
    if issuer.issuer_id == STRANGER:
        data["creditor"] = {
            "name": "Incassobureau Niet Geregistreerd",
            "oin": STRANGER[8:],
            "code": "XX",
        }
    return issuer.issue(
        DebtStatement.from_claims(data),
        holder_jwk=holder,
        format=fmt,
        now=now,
        valid_days=valid_days,
    )


def issue_declaration(
    s: Scheme, holder: dict[str, str], *, fmt: str = "sd-jwt", **changes: Any
) -> IssuedCredential:
    data = load("rode-knop-declaration.json")
    data.update(changes)
    data["declaration_id"] = f"GM0772-RK-T{next(_serial)}"
    return s.gem.issue(
        PaymentIncapacityDeclaration.from_claims(data), holder_jwk=holder, format=fmt, now=NOW
    )


def pilot_wallet(s: Scheme, w: Wallet) -> dict[str, IssuedCredential]:
    """The pilot's three credentials in ``w``."""
    h = w.holder_jwk()
    creds = {
        "decl": issue_declaration(s, h),
        "cjib": issue_statement(s.cjib, h),
        "duo": issue_statement(s.duo, h, "debt-statement-duo.json"),
    }
    for c in creds.values():
        res = w.add(c.text, trust_list=s.trust, now=NOW)
        assert not res.duplicate and res.superseded == ()
    return creds


def snapshot(w: Wallet, now: float = NOW) -> list[tuple[str, str, str]]:
    return [(c.id, c.vct, c.state) for c in w.credentials(now=now)]


def raises(exc: type[Exception], code: str, fn: Any, *args: Any, **kw: Any) -> Any:
    with pytest.raises(exc) as info:
        fn(*args, **kw)
    assert info.value.code == code, f"{type(info.value).__name__}: {info.value}"  # type: ignore[attr-defined]
    return info.value


# ------------------------------------------------------------------------------------------
# Import: verify before storing
# ------------------------------------------------------------------------------------------
def test_import_stores_a_verified_credential(scheme: Scheme, wallet: Wallet) -> None:
    cred = issue_statement(scheme.cjib, wallet.holder_jwk())
    res = wallet.add(cred.text, trust_list=scheme.trust, now=NOW)
    stored = res.credential
    assert (res.duplicate, res.superseded) == (False, ())
    assert (stored.format, stored.vct, stored.issuer, stored.issuer_name, stored.state) == (
        "dc+sd-jwt",
        DEBT_STATEMENT_VCT,
        CJIB,
        "CJIB",
        "active",
    )
    assert stored.usable and stored.valid_until == cred.valid_until
    assert stored.claims["subject"]["bsn"] == "999999990"  # the holder sees everything
    assert stored.received_at == int(NOW)
    assert wallet.credentials(now=NOW) == [stored]


def test_import_refuses_an_untrusted_issuer(scheme: Scheme, wallet: Wallet) -> None:
    pilot_wallet(scheme, wallet)
    before = snapshot(wallet)
    cred = issue_statement(scheme.stranger, wallet.holder_jwk())
    raises(TrustError, "untrusted_issuer", wallet.add, cred.text, trust_list=scheme.trust, now=NOW)
    assert snapshot(wallet) == before


def test_import_refuses_a_credential_bound_to_another_wallet(
    scheme: Scheme, wallet: Wallet, tmp_path: Path
) -> None:
    pilot_wallet(scheme, wallet)
    before = snapshot(wallet)
    with Wallet.create(
        tmp_path / "other", passphrase="another wallet (fictional)", scrypt_n=2**10
    ) as other:
        for fmt in ("sd-jwt", "di"):
            cred = issue_statement(
                scheme.duo, other.holder_jwk(), "debt-statement-duo.json", fmt=fmt
            )
            raises(
                HolderBindingError,
                "holder_mismatch",
                wallet.add,
                cred.text,
                trust_list=scheme.trust,
                now=NOW,
            )
            # the rightful holder can import it
            res = other.add(cred.text, trust_list=scheme.trust, now=NOW)
            assert not res.duplicate and res.credential.issuer == DUO
        assert len(other.credentials(now=NOW)) == 2
    assert snapshot(wallet) == before


def test_import_refuses_a_tampered_credential(scheme: Scheme, wallet: Wallet) -> None:
    pilot_wallet(scheme, wallet)
    before = snapshot(wallet)
    cred = issue_statement(scheme.cjib, wallet.holder_jwk())
    jwt, rest = cred.text.split("~", 1)
    header, payload, sig = jwt.split(".")
    # a different signature ...
    bad_sig = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    raises(
        SignatureError,
        "signature_invalid",
        wallet.add,
        f"{header}.{payload}.{bad_sig}~{rest}",
        trust_list=scheme.trust,
        now=NOW,
    )
    # ... or a payload the issuer did not sign (balance rewritten)
    other = issue_statement(
        scheme.cjib, wallet.holder_jwk(), balance_at="2026-11-21T09:00:00+01:00"
    )
    other_payload = other.text.split(".")[1]
    raises(
        SignatureError,
        "signature_invalid",
        wallet.add,
        f"{header}.{other_payload}.{sig}~{rest}",
        trust_list=scheme.trust,
        now=NOW,
    )
    assert snapshot(wallet) == before


def test_import_refuses_a_credential_with_key_binding(scheme: Scheme, wallet: Wallet) -> None:
    pilot_wallet(scheme, wallet)
    before = snapshot(wallet)
    cred = issue_statement(scheme.cjib, wallet.holder_jwk())
    presented = SDJWT.parse(cred.text).present(
        None, holder_key=wallet.holder_key(), nonce="n", audience="a", iat=int(NOW)
    )
    raises(
        MalformedError, "malformed_sd_jwt", wallet.add, presented, trust_list=scheme.trust, now=NOW
    )
    assert snapshot(wallet) == before


def test_import_refuses_a_revoked_credential_when_status_is_given(
    scheme: Scheme, wallet: Wallet, tmp_path: Path
) -> None:
    cred = issue_statement(scheme.cjib, wallet.holder_jwk())
    scheme.cjib.revoke(cred.credential_id, reason="replaced", actor="tests")
    cache = StatusCache(tmp_path / "cache", trust_list=scheme.trust)
    for f in scheme.cjib.publish_status(tmp_path / "pub", now=NOW):
        cache.import_file(f, fetched_at=NOW)
    raises(
        StatusError,
        "revoked",
        wallet.add,
        cred.text,
        trust_list=scheme.trust,
        status=cache,
        now=NOW,
    )
    assert wallet.credentials(now=NOW) == []
    # status unknown at import (empty cache): stored; the verifier decides later
    other = issue_statement(scheme.duo, wallet.holder_jwk(), "debt-statement-duo.json")
    res = wallet.add(
        other.text, trust_list=scheme.trust, status=StatusCache(tmp_path / "empty"), now=NOW
    )
    assert res.credential.state == "active"


def test_future_declaration_is_stored_but_not_presented_early(
    scheme: Scheme, wallet: Wallet
) -> None:
    """A pause that starts in two weeks can be handed out now; it is usable from its start."""
    cred = issue_declaration(
        scheme,
        wallet.holder_jwk(),
        trajectory_start="2026-12-07",
        valid_from="2026-12-07",
        valid_until="2027-04-06",
    )
    res = wallet.add(cred.text, trust_list=scheme.trust, now=NOW)
    assert res.credential.state == "not_yet_valid" and not res.credential.usable
    request = json.loads((ROOT / "examples/data/requests/rode-knop-check.json").read_text())
    raises(
        PolicyError,
        "request_not_satisfied",
        wallet.present,
        request,
        nonce="n",
        audience=CJIB,
        now=NOW,
    )
    later = NOW + 20 * 86400
    assert [c.state for c in wallet.credentials(now=later)] == ["active"]
    vp = wallet.present(request, nonce="n", audience=CJIB, now=later)
    assert len(next(iter(vp.values()))) == 1


def test_duplicate_import_changes_nothing(scheme: Scheme, wallet: Wallet) -> None:
    creds = pilot_wallet(scheme, wallet)
    before = snapshot(wallet)
    first_id = next(c.id for c in wallet.credentials(now=NOW) if c.issuer == CJIB)
    again = wallet.add(creds["cjib"].text, trust_list=scheme.trust, now=NOW + 60)
    assert again.duplicate is True
    assert again.superseded == ()
    assert again.credential.id == first_id
    # surrounding whitespace (a file read as is) does not make it another credential
    assert wallet.add("  " + creds["cjib"].text + "\n", trust_list=scheme.trust, now=NOW).duplicate
    assert snapshot(wallet) == before


def test_di_duplicate_import(scheme: Scheme, wallet: Wallet) -> None:
    cred = issue_declaration(scheme, wallet.holder_jwk(), fmt="di")
    first = wallet.add(cred.text, trust_list=scheme.trust, now=NOW)
    assert (first.credential.format, first.credential.vct) == ("ldp_vc", RODE_KNOP_VCT)
    again = wallet.add(json.loads(cred.text), trust_list=scheme.trust, now=NOW)
    assert again.duplicate and again.credential.id == first.credential.id
    assert len(wallet.credentials(now=NOW)) == 1


# ------------------------------------------------------------------------------------------
# Superseding statements
# ------------------------------------------------------------------------------------------
OLD_BALANCE = "2026-10-20T09:00:00+02:00"


def old_and_new(s: Scheme, holder: dict[str, str]) -> tuple[IssuedCredential, IssuedCredential]:
    old_totals = {**load("debt-statement.json")["totals"], "outstanding": 60000, "settled": 1900}
    old = issue_statement(
        s.cjib, holder, balance_at=OLD_BALANCE, totals=old_totals, is_complete=False
    )
    new = issue_statement(s.cjib, holder)
    return old, new


def test_newer_statement_supersedes_the_older(scheme: Scheme, wallet: Wallet) -> None:
    old, new = old_and_new(scheme, wallet.holder_jwk())
    duo = issue_statement(scheme.duo, wallet.holder_jwk(), "debt-statement-duo.json")
    r_old = wallet.add(old.text, trust_list=scheme.trust, now=NOW)
    r_duo = wallet.add(duo.text, trust_list=scheme.trust, now=NOW)
    assert wallet.overview(today=TODAY).total_outstanding == 60000 + 1438000
    r_new = wallet.add(new.text, trust_list=scheme.trust, now=NOW)
    assert r_new.superseded == (r_old.credential.id,)  # DUO's statement is another creditor's
    assert r_new.credential.state == "active"
    states = {c.id: c.state for c in wallet.credentials(now=NOW)}
    assert states == {
        r_old.credential.id: "superseded",
        r_duo.credential.id: "active",
        r_new.credential.id: "active",
    }
    ov = wallet.overview(today=TODAY)
    assert [(c.creditor_id, c.outstanding) for c in ov.creditors] == [(DUO, 1438000), (CJIB, 50000)]
    assert ov.total_outstanding == 1488000
    assert ov.notes == ()  # a superseded statement is history, not a problem
    # and it is never presented
    plan = wallet.plan(request("outstanding-totals.json"), now=NOW)
    chosen = {d.credential_id for d in plan.presentations()["debt_statements"]}
    assert chosen == {r_new.credential.id, r_duo.credential.id}


def test_older_statement_imported_after_the_newer_is_superseded_at_once(
    scheme: Scheme, wallet: Wallet
) -> None:
    old, new = old_and_new(scheme, wallet.holder_jwk())
    r_new = wallet.add(new.text, trust_list=scheme.trust, now=NOW)
    r_old = wallet.add(old.text, trust_list=scheme.trust, now=NOW)
    assert r_old.superseded == ()
    assert r_old.credential.state == "superseded" and not r_old.credential.usable
    assert {c.id: c.state for c in wallet.credentials(now=NOW)} == {
        r_new.credential.id: "active",
        r_old.credential.id: "superseded",
    }
    ov = wallet.overview(today=TODAY)
    assert [(c.creditor_id, c.outstanding, c.balance_at) for c in ov.creditors] == [
        (CJIB, 50000, "2026-11-20T09:00:00+01:00")
    ]


# ------------------------------------------------------------------------------------------
# Expired and revoked credentials are shown, never presented
# ------------------------------------------------------------------------------------------
def test_expired_credential_is_shown_as_expired_and_never_presented(
    scheme: Scheme, wallet: Wallet
) -> None:
    short = issue_statement(scheme.cjib, wallet.holder_jwk(), valid_days=1)
    duo = issue_statement(scheme.duo, wallet.holder_jwk(), "debt-statement-duo.json")
    r_short = wallet.add(short.text, trust_list=scheme.trust, now=NOW)
    r_duo = wallet.add(duo.text, trust_list=scheme.trust, now=NOW)
    req = request("outstanding-totals.json")
    plan_today = wallet.plan(req, now=NOW)
    assert len(plan_today.presentations()["debt_statements"]) == 2

    later = NOW + 2 * DAY
    states = {c.id: (c.state, c.usable) for c in wallet.credentials(now=later)}
    assert states == {
        r_short.credential.id: ("expired", False),
        r_duo.credential.id: ("active", True),
    }
    plan = wallet.plan(req, now=later)
    assert [d.credential_id for d in plan.presentations()["debt_statements"]] == [
        r_duo.credential.id
    ]
    vp = wallet.present(plan, nonce=NONCE, audience=CJIB, now=later)
    assert len(vp["debt_statements"]) == 1
    # a plan made while it was valid cannot be used to send it afterwards
    raises(
        PolicyError,
        "credential_unusable",
        wallet.present,
        plan_today,
        nonce=NONCE,
        audience=CJIB,
        now=later,
    )
    # with only the expired statement the request cannot be answered
    wallet.remove(r_duo.credential.id)
    plan = wallet.plan(req, now=later)
    assert not plan.satisfiable and plan.presentations() == {}
    assert [(m.code, m.credential_id) for m in plan.missing] == [
        ("credential_unusable", r_short.credential.id)
    ]
    raises(
        PolicyError,
        "request_not_satisfied",
        wallet.present,
        req,
        nonce=NONCE,
        audience=CJIB,
        now=later,
    )
    ov = wallet.overview(today=(dt.datetime.fromtimestamp(later, dt.UTC)).date())
    assert ov.creditors == () and ov.total_outstanding == 0
    assert ov.notes == ("statement from CJIB is expired; ask for a new one",)


def test_revoked_and_suspended_after_refresh_status(
    scheme: Scheme, wallet: Wallet, tmp_path: Path
) -> None:
    creds = pilot_wallet(scheme, wallet)
    ids = {c.issuer: c.id for c in wallet.credentials(now=NOW)}
    cache = StatusCache(tmp_path / "cache", trust_list=scheme.trust)

    def publish(now: float) -> None:
        for i in (scheme.gem, scheme.cjib, scheme.duo):
            for f in i.publish_status(tmp_path / f"pub-{now:.0f}" / i.name, now=now):
                cache.import_file(f, fetched_at=now)

    publish(NOW)
    assert wallet.refresh_status(scheme.trust, cache, now=NOW) == []
    scheme.cjib.revoke(creds["cjib"].credential_id, reason="replaced", actor="tests")
    scheme.gem.suspend(creds["decl"].credential_id, reason="in doubt", actor="tests")
    publish(NOW + 10)
    changed = wallet.refresh_status(scheme.trust, cache, now=NOW + 20)
    assert sorted(changed) == sorted([ids[CJIB], ids[GEM]])
    states = {c.issuer: c.state for c in wallet.credentials(now=NOW + 20)}
    assert states == {CJIB: "revoked", GEM: "suspended", DUO: "active"}

    plan = wallet.plan(request("hold-and-totals.json"), now=NOW + 20)
    assert not plan.satisfiable  # the declaration is required and suspended
    assert ("credential_unusable", ids[GEM]) in [(m.code, m.credential_id) for m in plan.missing]
    raises(
        PolicyError,
        "request_not_satisfied",
        wallet.present,
        request("hold-and-totals.json"),
        nonce=NONCE,
        audience=CJIB,
        now=NOW + 20,
    )
    vp = wallet.present(
        request("outstanding-totals.json"), nonce=NONCE, audience=CJIB, now=NOW + 20
    )
    assert len(vp["debt_statements"]) == 1  # DUO only; the revoked CJIB statement stays home
    ov = wallet.overview(today=TODAY)
    assert ov.pause is None
    assert [c.creditor_id for c in ov.creditors] == [DUO]
    assert ov.notes == ("statement from CJIB is revoked; ask for a new one",)

    scheme.gem.resume(creds["decl"].credential_id, reason="settled", actor="tests")
    publish(NOW + 30)
    assert wallet.refresh_status(scheme.trust, cache, now=NOW + 40) == [ids[GEM]]
    states = {c.issuer: c.state for c in wallet.credentials(now=NOW + 40)}
    assert states == {CJIB: "revoked", GEM: "active", DUO: "active"}
    assert wallet.plan(request("rode-knop-check.json"), now=NOW + 40).satisfiable


def test_refresh_without_usable_status_keeps_the_known_state(
    scheme: Scheme, wallet: Wallet, tmp_path: Path
) -> None:
    """A revocation is final: a refresh against a cache that lacks (or has stale) lists must
    not turn a revoked credential back into a presentable one."""
    cred = issue_statement(scheme.cjib, wallet.holder_jwk())
    cid = wallet.add(cred.text, trust_list=scheme.trust, now=NOW).credential.id
    scheme.cjib.revoke(cred.credential_id, reason="replaced", actor="tests")
    cache = StatusCache(tmp_path / "cache", trust_list=scheme.trust)
    for f in scheme.cjib.publish_status(tmp_path / "pub", now=NOW):
        cache.import_file(f, fetched_at=NOW)
    assert wallet.refresh_status(scheme.trust, cache, now=NOW + 10) == [cid]
    for other, at in ((StatusCache(tmp_path / "empty"), NOW + 20), (cache, NOW + 3 * DAY)):
        assert wallet.refresh_status(scheme.trust, other, now=at) == []
        assert [c.state for c in wallet.credentials(now=at)] == ["revoked"]


# ------------------------------------------------------------------------------------------
# Overview
# ------------------------------------------------------------------------------------------
def test_overview_of_the_pilot(scheme: Scheme, wallet: Wallet) -> None:
    creds = pilot_wallet(scheme, wallet)
    ov = wallet.overview(today=TODAY)
    assert ov.as_of == "2026-11-22"
    assert ov.total_outstanding == 1488000
    assert ov.total_in_arrears == 22900 + 36000
    lines = {c.creditor_id: c for c in ov.creditors}
    assert [c.creditor_id for c in ov.creditors] == [DUO, CJIB]  # largest first
    assert (lines[CJIB].creditor, lines[CJIB].outstanding, lines[CJIB].in_arrears) == (
        "CJIB",
        50000,
        22900,
    )
    assert (lines[CJIB].cases, lines[CJIB].cases_in_arrears) == (2, 1)
    assert (
        lines[CJIB].arrangement is not None
        and lines[CJIB].arrangement["installment_amount"] == 5420
    )
    assert (lines[DUO].creditor, lines[DUO].outstanding) == ("DUO", 1438000)
    assert lines[DUO].collection_hold == {"active": False}
    assert not lines[CJIB].stale and not lines[DUO].stale
    assert ov.pause is not None
    assert (
        ov.pause.municipality,
        ov.pause.valid_from,
        ov.pause.valid_until,
        ov.pause.days_left,
    ) == (
        "Gemeente Eindhoven",
        "2026-11-16",
        "2027-03-15",
        113,
    )
    assert ov.pause.declaration_id == creds["decl"].credential_id
    assert ov.pause.measures == (
        "suspend_collection",
        "no_additional_costs",
        "no_garnishment",
        "no_bailiff",
    )
    out = ov.to_json()
    assert (out["total_outstanding"], out["currency"], out["pause"]["days_left"]) == (
        1488000,
        "EUR",
        113,
    )
    # outside the pause window there is no pause
    assert wallet.overview(today=dt.date(2026, 11, 15)).pause is None
    assert wallet.overview(today=dt.date(2027, 3, 15)).pause.days_left == 0  # type: ignore[union-attr]


def test_overview_marks_an_old_balance_stale(scheme: Scheme, wallet: Wallet) -> None:
    h = wallet.holder_jwk()
    # balance 40 days before the overview's day: stale; DUO's of 3 days ago: fresh
    old = issue_statement(scheme.cjib, h, balance_at="2026-10-13T09:00:00+02:00")
    wallet.add(old.text, trust_list=scheme.trust, now=NOW)
    duo = issue_statement(scheme.duo, h, "debt-statement-duo.json")
    wallet.add(duo.text, trust_list=scheme.trust, now=NOW)
    ov = wallet.overview(today=TODAY)
    assert {c.creditor_id: c.stale for c in ov.creditors} == {CJIB: True, DUO: False}
    assert ov.total_outstanding == 1488000  # stale still counts; the app shows the warning
    # 30 days is the limit: not yet stale on 2026-11-12
    assert {c.creditor_id: c.stale for c in wallet.overview(today=dt.date(2026, 11, 12)).creditors}[
        CJIB
    ] is False


# ------------------------------------------------------------------------------------------
# Plans and presentations
# ------------------------------------------------------------------------------------------
def test_unsatisfiable_request_lists_what_is_missing(scheme: Scheme, wallet: Wallet) -> None:
    duo = issue_statement(scheme.duo, wallet.holder_jwk(), "debt-statement-duo.json")
    duo_id = wallet.add(duo.text, trust_list=scheme.trust, now=NOW).credential.id
    before = snapshot(wallet)

    plan = wallet.plan(request("hold-and-totals.json"), now=NOW)
    assert not plan.satisfiable and plan.presentations() == {}
    codes = [(m.code, m.query_id) for m in plan.missing]
    assert ("credential_set_unsatisfied", None) in codes
    assert ("credential_not_found", "payment_incapacity_declaration") in codes

    # a claim DUO's statement does not hold (it has no arrangement)
    arrangement = {
        "credentials": [
            {
                "id": "debt_statements",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [DEBT_STATEMENT_VCT]},
                "claims": [{"path": ["arrangement", "installment_amount"]}],
            }
        ]
    }
    plan = wallet.plan(arrangement, now=NOW)
    assert [(m.code, m.credential_id, m.path) for m in plan.missing] == [
        ("claim_missing", duo_id, ("arrangement", "installment_amount"))
    ]
    for req in (request("hold-and-totals.json"), arrangement):
        err = raises(
            PolicyError,
            "request_not_satisfied",
            wallet.present,
            req,
            nonce=NONCE,
            audience=CJIB,
            now=NOW,
        )
        assert err.message.startswith("cannot answer the request")
    assert snapshot(wallet) == before


def test_bsn_only_when_the_request_names_it(scheme: Scheme, wallet: Wallet, tmp_path: Path) -> None:
    pilot_wallet(scheme, wallet)
    verifier = status_verifier(scheme, tmp_path)
    qid = "payment_incapacity_declaration"

    def subject(req: dict[str, Any]) -> dict[str, Any]:
        vp = wallet.present(req, nonce=NONCE, audience=CJIB, now=NOW)
        res = verifier.verify(vp, nonce=NONCE, audience=CJIB, request=req, now=NOW)
        (decl,) = res.by_query(qid)
        return dict(decl.claims["subject"])

    public = subject(request("rode-knop-check-public-creditor.json"))
    assert public == {
        "family_name": "Jansen",
        "given_names": "Eva Maria",
        "birthdate": "1988-04-12",
        "bsn": "999999990",
    }
    assert "bsn" not in subject(request("rode-knop-check.json"))

    # asking for the whole subject still withholds the BSN (it must be named)
    whole = copy.deepcopy(request("rode-knop-check.json"))
    whole["credentials"][0]["claims"] = [{"path": ["subject"]}]
    plan = wallet.plan(whole, now=NOW)
    assert ("protected_claim_withheld", ("subject", "bsn")) in [
        (w.code, w.path) for w in plan.warnings
    ]
    got = subject(whole)
    assert "bsn" not in got
    assert got["address"]["city"] == "Eindhoven"


def test_present_binds_to_nonce_and_audience(
    scheme: Scheme, wallet: Wallet, tmp_path: Path
) -> None:
    pilot_wallet(scheme, wallet)
    req = request("hold-and-totals.json")
    plan = wallet.plan(req, now=NOW)
    shown = {
        qid: sorted(tuple(p) for d in ds for p in d.disclose_paths)
        for qid, ds in plan.presentations().items()
    }
    assert ("subject", "bsn") not in shown["payment_incapacity_declaration"]
    assert ("totals", "outstanding") in shown["debt_statements"]
    vp = wallet.present(plan, nonce=NONCE, audience=CJIB, now=NOW)
    verifier = status_verifier(scheme, tmp_path)
    res = verifier.verify(vp, nonce=NONCE, audience=CJIB, request=req, now=NOW)
    assert sorted(c.issuer for c in res.credentials) == sorted([GEM, CJIB, DUO])
    raises(
        HolderBindingError,
        "audience_mismatch",
        verifier.verify,
        vp,
        nonce=NONCE,
        audience=DUO,
        now=NOW,
    )


def test_extra_holder_keys(scheme: Scheme, wallet: Wallet, tmp_path: Path) -> None:
    keys = wallet.new_holder_keys(3)
    assert len({k["kid"] for k in keys}) == 3 and all("d" not in k for k in keys)
    assert wallet.holder_jwk()["kid"] not in {k["kid"] for k in keys}
    raises(PolicyError, "invalid_request", wallet.new_holder_keys, 0)
    raises(PolicyError, "invalid_request", wallet.new_holder_keys, 101)
    # a copy bound to an extra key imports and is presented with that key
    cred = issue_statement(scheme.cjib, keys[1])
    wallet.add(cred.text, trust_list=scheme.trust, now=NOW)
    vp = wallet.present(request("outstanding-totals.json"), nonce=NONCE, audience=CJIB, now=NOW)
    res = status_verifier(scheme, tmp_path).verify(vp, nonce=NONCE, audience=CJIB, now=NOW)
    holder = res.credentials[0].holder
    assert holder is not None and holder["x"] == keys[1]["x"]


def test_remove(scheme: Scheme, wallet: Wallet) -> None:
    pilot_wallet(scheme, wallet)
    victim = next(c.id for c in wallet.credentials(now=NOW) if c.issuer == DUO)
    wallet.remove(victim)
    assert sorted(c.issuer for c in wallet.credentials(now=NOW)) == sorted([GEM, CJIB])
    raises(PolicyError, "credential_missing", wallet.remove, victim)


# ------------------------------------------------------------------------------------------
# Storage
# ------------------------------------------------------------------------------------------
def test_wrong_passphrase(scheme: Scheme, tmp_path: Path) -> None:
    with Wallet.create(tmp_path / "w", passphrase=PASS, scrypt_n=2**10) as w:
        pilot_wallet(scheme, w)
    raises(StorageError, "wrong_passphrase", Wallet.open, tmp_path / "w", passphrase="not it")
    with Wallet.open(tmp_path / "w", passphrase=PASS) as w:
        assert len(w.credentials(now=NOW)) == 3


def test_change_passphrase_keeps_credentials(scheme: Scheme, tmp_path: Path) -> None:
    with Wallet.create(tmp_path / "w", passphrase=PASS, scrypt_n=2**10) as w:
        pilot_wallet(scheme, w)
        before, holder = snapshot(w), w.holder_jwk()
        w.change_passphrase(passphrase="a new passphrase")
        assert snapshot(w) == before
    raises(StorageError, "wrong_passphrase", Wallet.open, tmp_path / "w", passphrase=PASS)
    with Wallet.open(tmp_path / "w", passphrase="a new passphrase") as w:
        assert snapshot(w) == before
        assert w.holder_jwk() == holder
        assert w.plan(request("hold-and-totals.json"), now=NOW).satisfiable


def test_reopen_after_close_keeps_everything(scheme: Scheme, tmp_path: Path) -> None:
    w = Wallet.create(tmp_path / "w", passphrase=PASS, scrypt_n=2**10)
    pilot_wallet(scheme, w)
    old, _ = old_and_new(scheme, w.holder_jwk())
    w.add(old.text, trust_list=scheme.trust, now=NOW)  # superseded on arrival
    extra = w.new_holder_keys(2)
    before = [c.to_json() for c in w.credentials(now=NOW)]
    overview = w.overview(today=TODAY).to_json()
    holder = w.holder_jwk()
    w.close()
    raises(StorageError, "wallet_closed", w.credentials, now=NOW)
    with Wallet.open(tmp_path / "w", passphrase=PASS) as again:
        assert [c.to_json() for c in again.credentials(now=NOW)] == before
        assert sorted(c["state"] for c in before) == ["active", "active", "active", "superseded"]
        assert again.overview(today=TODAY).to_json() == overview
        assert again.holder_jwk() == holder
        assert again.holder_key(extra[0]["kid"]).public_jwk() == extra[0]


def test_wallet_files_hold_no_plaintext_personal_data(scheme: Scheme, tmp_path: Path) -> None:
    home = tmp_path / "w"
    with Wallet.create(home, passphrase=PASS, scrypt_n=2**10) as w:
        creds = pilot_wallet(scheme, w)
        di = issue_declaration(scheme, w.holder_jwk(), fmt="di")
        w.add(di.text, trust_list=scheme.trust, now=NOW)
        w.new_holder_keys(1)
        private_d = w.holder_key().private_jwk()["d"]
    files = [p for p in home.rglob("*") if p.is_file()]
    assert files
    blob = b"".join(p.read_bytes() for p in files)
    needles = [
        "Jansen",
        "999999990",
        "Eva Maria",
        "1988-04-12",
        "Stratumseind",
        "SHV-88213",
        "Gemeente Eindhoven",
        "CJIB-2026-000123",
        CJIB,
        private_d,
        # the credentials themselves (base64url), not only their decoded contents
        creds["cjib"].text.split(".")[1][:40],
        creds["decl"].text.split("~")[1],
    ]
    for needle in needles:
        assert needle.encode() not in blob, needle


def test_same_snapshot_in_both_encodings_counts_once(scheme: Scheme, wallet: Wallet) -> None:
    """Equal balance_at from one creditor is one snapshot: both copies stay usable, the
    overview counts the creditor once."""
    a = issue_statement(scheme.cjib, wallet.holder_jwk())
    b = issue_statement(scheme.cjib, wallet.holder_jwk(), fmt="di")
    wallet.add(a.text, trust_list=scheme.trust, now=NOW)
    res = wallet.add(b.text, trust_list=scheme.trust, now=NOW)
    assert res.superseded == ()
    assert sorted(c.state for c in wallet.credentials(now=NOW)) == ["active", "active"]
    ov = wallet.overview(today=dt.date(2026, 11, 22))
    assert [line.creditor_id for line in ov.creditors] == [CJIB]
    assert ov.total_outstanding == 50000


def test_single_use_copies_are_unlinkable_and_used_once(
    scheme: Scheme, wallet: Wallet, tmp_path: Path
) -> None:
    """Unlinkability: a batch of copies with their own holder keys; each presentation uses a
    fresh copy (different issuer signature, cnf key and status index), revoking covers all."""
    keys = wallet.new_holder_keys(3)
    data = load("debt-statement.json")
    data["statement_id"] = "CJIB-COPIES-1"
    copies = scheme.cjib.issue_copies(DebtStatement.from_claims(data), holder_jwks=keys, now=NOW)
    assert len({c.status_index for c in copies}) == 3
    for c in copies:
        wallet.add(c.text, trust_list=scheme.trust, now=NOW)
    req = request("outstanding-totals.json")
    verifier = status_verifier(scheme, tmp_path)
    seen_sigs, seen_cnf = set(), set()
    for n in range(3):
        vp = wallet.present(req, nonce=f"n{n}", audience=CJIB, now=NOW)
        [pres] = next(iter(vp.values()))  # one presentation: copies never answer twice
        jwt = pres.split("~")[0]
        seen_sigs.add(jwt.rsplit(".", 1)[1])
        res = verifier.verify(vp, nonce=f"n{n}", audience=CJIB, now=NOW)
        seen_cnf.add(res.credentials[0].holder["x"])
    assert len(seen_sigs) == 3 and len(seen_cnf) == 3
    scheme.cjib.revoke("CJIB-COPIES-1", reason="test", actor="t")
    states = {
        r.credential_id: r.state
        for r in scheme.cjib.register.list()
        if r.credential_id.startswith("CJIB-COPIES-1")
    }
    assert states == {f"CJIB-COPIES-1~copy{i}": "revoked" for i in (1, 2, 3)}


@pytest.mark.parametrize("fmt", ["sd-jwt", "di"])
@pytest.mark.parametrize("hour", [0, 11, 12, 13, 21, 23])
def test_overview_counts_a_statement_issued_at_any_hour(
    scheme: Scheme, wallet: Wallet, fmt: str, hour: int
) -> None:
    """Issue 11: a credential issued in the afternoon used to be "not_yet_valid" at noon."""
    day = dt.datetime.fromtimestamp(NOW, dt.UTC).date()
    issued_at = dt.datetime.combine(day, dt.time(hour, 30), dt.UTC).timestamp()
    cred = issue_statement(scheme.cjib, wallet.holder_jwk(), fmt=fmt, now=issued_at)
    wallet.add(cred.text, trust_list=scheme.trust, now=issued_at + 1)
    amsterdam_day = dt.datetime.fromtimestamp(issued_at, ZoneInfo("Europe/Amsterdam")).date()
    for ov in (wallet.overview(now=issued_at + 60), wallet.overview(today=amsterdam_day)):
        assert ov.notes == (), ov.notes
        assert ov.total_outstanding == 50000
    if fmt == "di":  # validFrom is the issue time: the day before, it was not valid yet
        before = wallet.overview(today=amsterdam_day - dt.timedelta(days=1))
        assert before.total_outstanding == 0 and "not_yet_valid" in before.notes[0]


@pytest.mark.parametrize("fmt", ["sd-jwt", "di"])
def test_overview_without_a_day_uses_the_current_moment(
    scheme: Scheme, wallet: Wallet, fmt: str
) -> None:
    import time

    now = time.time()
    trust_now = scheme.verified_trust(scheme.trust_list([scheme.cjib], now=now), now=now)
    cred = issue_statement(scheme.cjib, wallet.holder_jwk(), fmt=fmt, now=now - 5)
    wallet.add(cred.text, trust_list=trust_now, now=now)
    ov = wallet.overview()
    assert ov.notes == () and ov.total_outstanding == 50000


# -- calendar dates (issue 12.10, wallet side) ---------------------------------------------------
@given(
    year=st.integers(0, 9999),
    month=st.integers(0, 99),
    day=st.integers(0, 99),
    where=st.sampled_from(["valid_until", "cases"]),
)
@settings(max_examples=300, deadline=None)
def test_calendar_check_agrees_with_the_calendar(
    year: int, month: int, day: int, where: str
) -> None:
    """Every schema date the wallet reads, at any depth, is refused exactly when it is not a
    real calendar date (the schema's pattern alone lets 2026-02-30 and month 13 through)."""
    from blauweknop._wallet import _check_calendar_dates

    text = f"{year:04d}-{month:02d}-{day:02d}"
    try:
        dt.date(year, month, day)
        real = year >= 1
    except ValueError:
        real = False
    if where == "cases":
        vct = DEBT_STATEMENT_VCT
        claims: dict[str, Any] = {"cases": [{"imposed_at": "2026-01-01"}, {"imposed_at": text}]}
        field = "cases[1].imposed_at"
    else:
        vct, claims, field = RODE_KNOP_VCT, {"valid_until": text}, "valid_until"
    schema = get_profile(vct).schema
    if real:
        _check_calendar_dates(schema, claims)
    else:
        with pytest.raises(InvalidDataError) as info:
            _check_calendar_dates(schema, claims)
        assert info.value.field == field


@pytest.mark.parametrize(
    "moment",
    ["2026-02-30T10:00:00Z", "2026-13-01T10:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T10:00:00"],
)
def test_calendar_check_of_balance_at(moment: str) -> None:
    from blauweknop._wallet import _check_calendar_dates

    schema = get_profile(DEBT_STATEMENT_VCT).schema
    _check_calendar_dates(schema, {"balance_at": "2026-02-28T23:59:59.5+01:00"})
    with pytest.raises(InvalidDataError) as info:
        _check_calendar_dates(schema, {"balance_at": moment})
    assert info.value.field == "balance_at"
