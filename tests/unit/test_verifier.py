"""The creditor's verifier (issue "Foundation: SD-JWT VC vertical slice"), end to end.

The shared scheme (tests/scheme.py) is built once per module: the scheme authority's anchor
key, Gemeente Eindhoven (municipality), CJIB and DUO (creditors), a signed trust list, the
citizen's wallet with the pilot's three credentials, and a status cache with every issuer's
published lists. Each test then presents something and asserts the verifier's outcome by error
class *and* code.

Every test here runs under the ``no_network`` fixture: verification must not touch a socket.
Tests that change status (revoke, suspend) work on credentials issued for that test alone and
on a status cache of their own, so the shared scheme stays as it was built.

Time is fixed: the pilot's day, 2026-11-22T10:00Z (the declaration's window is 2026-11-16 ..
2027-03-15; the statements' balances are of 2026-11-19/20).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from scheme import CJIB, DUO, GEM, PILOT_NOW
from scheme import Scheme as SharedScheme

from blauweknop import (
    DEBT_STATEMENT_VCT,
    RODE_KNOP_VCT,
    SD,
    SDJWT,
    DisclosureError,
    HolderBindingError,
    IssuedCredential,
    Issuer,
    Key,
    MalformedError,
    PolicyError,
    SignatureError,
    StatusCache,
    StatusError,
    TrustError,
    TrustList,
    ValidityError,
    Verifier,
    Wallet,
    get_profile,
    issue_sd_jwt,
)
from blauweknop._sdjwt_vc import issue_sd_jwt_vc
from blauweknop._status._cache import cache_file_name
from blauweknop._status._ietf import sign_status_list_token
from blauweknop._verifier import parse_vp_token
from blauweknop.debt import DebtStatement
from rodeknop_vc import PaymentIncapacityDeclaration, hold_decision

pytestmark = pytest.mark.usefixtures("no_network")

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data"
PROFILES = ROOT / "src" / "blauweknop" / "profiles"
NOW = PILOT_NOW
TODAY = dt.date(2026, 11, 22)
DAY = 86400
NONCE = "n-verifier-2026-11-22"
AUD = CJIB  # CJIB is the creditor asking

Path_ = tuple[str | int | None, ...]


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def request(name: str) -> dict[str, Any]:
    return json.loads((DATA / "requests" / name).read_text())


# ------------------------------------------------------------------------------------------
# What a verifier must see, worked out from the type metadata files and the data alone
# ------------------------------------------------------------------------------------------
def _rules(vct: str) -> dict[Path_, str]:
    name = "debt-statement.json" if vct == DEBT_STATEMENT_VCT else "rode-knop-declaration.json"
    md = json.loads((PROFILES / name).read_text())
    return {tuple(c["path"]): c["sd"] for c in md["claims"] if "sd" in c}


def expected_claims(vct: str, data: dict[str, Any], requested: Sequence[Path_]) -> dict[str, Any]:
    """Every claim the profile always shows, plus each requested claim with its subtree and
    the path to it; a BSN inside a requested subtree only when a request names it. (The
    requests used here name existing claims; tests/property/test_minimal_disclosure.py has
    the model for wildcards and missing claims.)"""
    rules = _rules(vct)
    req = [tuple(r) for r in requested]

    def rule(path: Path_) -> str | None:
        return rules.get(tuple(None if isinstance(p, int) else p for p in path))

    def asked(path: Path_) -> bool:
        for r in req:
            n = min(len(r), len(path))
            if all(
                a == b or (a is None and isinstance(b, int))
                for a, b in zip(r[:n], path[:n], strict=True)
            ):
                if len(path) > len(r) and "bsn" in path[len(r) :]:
                    continue
                return True
        return False

    def shown(path: Path_) -> bool:
        return rule(path) not in ("always", "allowed") or asked(path)

    def walk(value: Any, path: Path_) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, (*path, k)) for k, v in value.items() if shown((*path, k))}
        if isinstance(value, list):
            return [walk(v, (*path, i)) for i, v in enumerate(value) if shown((*path, i))]
        return value

    return walk(data, ())


def request_paths(req: dict[str, Any], query_id: str, strip: int = 0) -> list[Path_]:
    q = next(c for c in req["credentials"] if c["id"] == query_id)
    return [tuple(c["path"][strip:]) for c in q.get("claims", [])]


# ------------------------------------------------------------------------------------------
# The scheme
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scheme(SharedScheme):
    """The shared scheme (tests/scheme.py) with this module's shorthands."""

    @property
    def decl(self) -> IssuedCredential:
        return self.issued["gem"]

    @property
    def cjib_stmt(self) -> IssuedCredential:
        return self.issued["cjib"]

    @property
    def duo_stmt(self) -> IssuedCredential:
        return self.issued["duo"]

    @property
    def holder_key(self) -> Key:
        assert self.wallet is not None
        return self.wallet.holder_key()

    @property
    def holder_pub(self) -> dict[str, str]:
        return self.holder_key.public_jwk(with_kid=False)

    def present(
        self, req: Any, *, nonce: str = NONCE, audience: str = AUD, now: float = NOW
    ) -> dict[str, list[Any]]:
        assert self.wallet is not None
        return self.wallet.present(req, nonce=nonce, audience=audience, now=now)

    def long_trust(self, days: int = 120) -> TrustList:
        """A trust list that outlives the credentials (for tests at their expiry)."""
        return self.verified_trust(self.trust_list(valid_days=days))

    def own_cache(self, directory: Path, *, now: float = NOW, **publish: Any) -> StatusCache:
        """A fresh status cache with every issuer's lists as published at ``now``."""
        return self.status_cache(directory / "cache", directory / "published", now=now, **publish)


def publish_into(cache: StatusCache, issuer: Issuer, out: Path, now: float, **kw: Any) -> None:
    shutil.rmtree(out, ignore_errors=True)
    for f in issuer.publish_status(out, now=now, **kw):
        cache.import_file(f, fetched_at=now)


@pytest.fixture(scope="module")
def scheme(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scheme]:
    work = tmp_path_factory.mktemp("verifier-scheme")
    with Wallet.create(work / "wallet", passphrase="verifier tests", scrypt_n=2**10) as wallet:
        yield Scheme.build(work, wallet=wallet, now=NOW)


_serial = iter(range(100, 10_000))


def fresh_statement(s: Scheme, **changes: Any) -> IssuedCredential:
    """A CJIB statement issued for one test only (its own register row and status index)."""
    data = load("debt-statement.json")
    data.update(changes, statement_id=f"CJIB-2026-T{next(_serial)}")
    return s.cjib.issue(DebtStatement.from_claims(data), holder_jwk=s.wallet.holder_jwk(), now=NOW)


def present_text(
    s: Scheme,
    text: str,
    paths: Sequence[Sequence[Any]] | None = (),
    *,
    nonce: str = NONCE,
    audience: str = AUD,
    iat: float = NOW,
    holder: Key | None = None,
) -> str:
    """Holder presentation of an issued SD-JWT VC, bypassing the wallet (for states the wallet
    itself would refuse to present)."""
    return SDJWT.parse(text).present(
        None if paths is None else [list(p) for p in paths],
        holder_key=holder or s.holder_key,
        nonce=nonce,
        audience=audience,
        iat=int(iat),
    )


def one(query_id: str, presentation: Any) -> dict[str, list[Any]]:
    return {query_id: [presentation]}


def raises(exc: type[Exception], code: str, fn: Any, *args: Any, **kw: Any) -> Any:
    with pytest.raises(exc) as info:
        fn(*args, **kw)
    assert info.value.code == code, f"{type(info.value).__name__}: {info.value}"  # type: ignore[attr-defined]
    return info.value


# ------------------------------------------------------------------------------------------
# Happy path: one vp_token, several credentials
# ------------------------------------------------------------------------------------------
def test_multi_credential_vp_token_verifies_with_exactly_the_requested_claims(
    scheme: Scheme,
) -> None:
    req = request("hold-and-totals.json")
    vp = scheme.present(req)
    assert {k: len(v) for k, v in vp.items()} == {
        "payment_incapacity_declaration": 1,
        "debt_statements": 2,
    }
    result = scheme.verifier().verify(vp, nonce=NONCE, audience=AUD, request=req, now=NOW)
    assert len(result.credentials) == 3

    (decl,) = result.by_query("payment_incapacity_declaration")
    assert (decl.format, decl.vct, decl.issuer, decl.issuer_name) == (
        "dc+sd-jwt",
        RODE_KNOP_VCT,
        GEM,
        "Gemeente Eindhoven",
    )
    decl_data = load("rode-knop-declaration.json")
    assert dict(decl.claims) == expected_claims(
        RODE_KNOP_VCT, decl_data, request_paths(req, "payment_incapacity_declaration")
    )
    # spelled out: names and birthdate, nothing else personal, no counsellor details
    assert decl.claims["subject"] == {
        "family_name": "Jansen",
        "given_names": "Eva Maria",
        "birthdate": "1988-04-12",
    }
    assert decl.claims["counsellor"] == {
        "organisation_phone": "+31 40 238 6000",
        "organisation_email": "schuldhulp@eindhoven.example",
    }
    for absent in ("application_date", "admission_decision_date", "trajectory_phase"):
        assert absent not in decl.claims
    assert decl.disclosed == {
        ("subject", "family_name"),
        ("subject", "given_names"),
        ("subject", "birthdate"),
    }
    assert decl.status == "valid"
    assert (
        decl.valid_from
        == dt.datetime(2026, 11, 16, tzinfo=dt.timezone(dt.timedelta(hours=1))).timestamp()
    )
    assert decl.valid_until == scheme.decl.valid_until
    assert decl.holder is not None
    assert {k: decl.holder[k] for k in ("kty", "crv", "x", "y")} == {
        k: scheme.holder_pub[k] for k in ("kty", "crv", "x", "y")
    }

    stmts = result.by_query("debt_statements")
    assert {c.issuer: c.issuer_name for c in stmts} == {CJIB: "CJIB", DUO: "DUO"}
    for c in stmts:
        data = load("debt-statement.json" if c.issuer == CJIB else "debt-statement-duo.json")
        assert c.vct == DEBT_STATEMENT_VCT
        assert dict(c.claims) == expected_claims(
            DEBT_STATEMENT_VCT, data, request_paths(req, "debt_statements")
        )
        assert c.claims["totals"] == {"outstanding": data["totals"]["outstanding"]}
        assert c.claims["subject"] == {}  # the container is always shown, nothing in it
        assert "cases" not in c.claims and "arrangement" not in c.claims
        assert c.disclosed == {("totals", "outstanding")}
        assert c.status == "valid"
    assert result.of_type(DEBT_STATEMENT_VCT) == stmts

    decision = hold_decision(decl, today=TODAY)
    assert (decision.hold, decision.hold_from, decision.hold_until) == (
        True,
        dt.date(2026, 11, 16),
        dt.date(2027, 3, 15),
    )
    assert decision.measures == (
        "suspend_collection",
        "no_additional_costs",
        "no_garnishment",
        "no_bailiff",
    )
    assert decision.days_left(TODAY) == 113


def test_hold_decision_outside_the_window_and_for_other_types(scheme: Scheme) -> None:
    req = request("hold-and-totals.json")
    vp = scheme.present(req)
    res = scheme.verifier().verify(vp, nonce=NONCE, audience=AUD, request=req, now=NOW)
    (decl,) = res.of_type(RODE_KNOP_VCT)
    before = hold_decision(decl, today=dt.date(2026, 11, 15))
    assert (before.hold, before.days_left(dt.date(2026, 11, 15))) == (False, 120)
    assert "starts on 2026-11-16" in before.reason
    last_day = hold_decision(decl, today=dt.date(2027, 3, 15))
    assert (last_day.hold, last_day.days_left(dt.date(2027, 3, 15))) == (True, 0)
    after = hold_decision(decl, today=dt.date(2027, 3, 16))
    assert (after.hold, after.days_left(dt.date(2027, 3, 16))) == (False, 0)
    assert "ended on 2027-03-15" in after.reason
    assert after.to_json()["hold_until"] == "2027-03-15"
    raises(
        PolicyError, "wrong_type", hold_decision, res.of_type(DEBT_STATEMENT_VCT)[0], today=TODAY
    )
    # a declaration answered without its always-shown window cannot be decided on
    window_less = dataclasses.replace(
        decl, claims={k: v for k, v in decl.claims.items() if k != "valid_until"}
    )
    raises(PolicyError, "claim_missing", hold_decision, window_less, today=TODAY)
    not_incapable = dataclasses.replace(decl, claims={**decl.claims, "payment_incapacity": False})
    raises(PolicyError, "policy_violation", hold_decision, not_incapable, today=TODAY)


def test_vp_token_as_json_text_and_bytes_verifies_too(scheme: Scheme) -> None:
    req = request("outstanding-totals.json")
    vp = scheme.present(req)
    v = scheme.verifier()
    for form in (json.dumps(vp), json.dumps(vp).encode()):
        res = v.verify(form, nonce=NONCE, audience=AUD, request=req, now=NOW)
        assert sorted(c.issuer for c in res.credentials) == sorted([CJIB, DUO])


def test_check_gives_one_outcome_per_presentation(scheme: Scheme) -> None:
    good = scheme.present(request("hold-and-totals.json"))
    other_nonce = scheme.present(request("outstanding-totals.json"), nonce="another nonce")
    jwt, rest = good["debt_statements"][0].split("~", 1)
    h, p, sig = jwt.split(".")
    forged = f"{h}.{p}.{sig[:10]}{'A' if sig[10] != 'A' else 'B'}{sig[11:]}~{rest}"
    vp = {
        "payment_incapacity_declaration": good["payment_incapacity_declaration"],
        "debt_statements": [
            good["debt_statements"][1],
            other_nonce["debt_statements"][0],
            forged,
            "not an sd-jwt",
        ],
    }
    outcomes = scheme.verifier().check(vp, nonce=NONCE, audience=AUD, now=NOW)
    summary = [
        (
            o.query_id,
            o.index,
            o.ok,
            None if o.error is None else (type(o.error).__name__, o.error.code),
        )
        for o in outcomes
    ]
    assert summary == [
        ("payment_incapacity_declaration", 0, True, None),
        ("debt_statements", 0, True, None),
        ("debt_statements", 1, False, ("HolderBindingError", "nonce_mismatch")),
        ("debt_statements", 2, False, ("SignatureError", "signature_invalid")),
        ("debt_statements", 3, False, ("MalformedError", "malformed_sd_jwt")),
    ]
    assert outcomes[0].credential is not None and outcomes[0].credential.vct == RODE_KNOP_VCT
    assert all(o.credential is None for o in outcomes[2:])
    # verify() fails closed on the first rejection and says which query it answered
    err = raises(
        HolderBindingError,
        "nonce_mismatch",
        scheme.verifier().verify,
        vp,
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )
    assert err.query_id == "debt_statements"


def test_verify_without_a_request_accepts_any_answer(scheme: Scheme) -> None:
    vp = scheme.present(request("rode-knop-check.json"))
    res = scheme.verifier().verify(vp, nonce=NONCE, audience=AUD, now=NOW)
    assert [c.query_id for c in res.credentials] == ["payment_incapacity_declaration"]
    assert res.of_type(DEBT_STATEMENT_VCT) == []


# ------------------------------------------------------------------------------------------
# Trust
# ------------------------------------------------------------------------------------------
def test_declaration_from_an_organisation_without_the_municipality_role(scheme: Scheme) -> None:
    data = load("rode-knop-declaration.json")
    model = PaymentIncapacityDeclaration.from_claims(data)
    # the recipe refuses outright ...
    raises(
        TrustError,
        "untrusted_issuer",
        scheme.cjib.issue,
        model,
        holder_jwk=scheme.wallet.holder_jwk(),
        now=NOW,
    )
    # ... so a creditor that signs one by hand must be refused by the verifier and the wallet
    token = issue_sd_jwt_vc(
        get_profile(RODE_KNOP_VCT),
        data,
        issuer_id=CJIB,
        signer=scheme.cjib.signer,
        holder_jwk=scheme.holder_pub,
        iat=int(NOW),
        exp=int(NOW) + 90 * DAY,
        nbf=int(NOW) - DAY,
    )
    pres = present_text(scheme, token, None)
    err = raises(
        TrustError,
        "untrusted_issuer",
        scheme.verifier(allow_missing_status=True).verify,
        one("payment_incapacity_declaration", pres),
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )
    assert "municipality" in err.message
    before = [c.id for c in scheme.wallet.credentials(now=NOW)]
    raises(
        TrustError, "untrusted_issuer", scheme.wallet.add, token, trust_list=scheme.trust, now=NOW
    )
    assert [c.id for c in scheme.wallet.credentials(now=NOW)] == before


def test_issuer_not_in_the_trust_list(scheme: Scheme) -> None:
    stranger = Key.generate()
    token = issue_sd_jwt_vc(
        get_profile(DEBT_STATEMENT_VCT),
        load("debt-statement.json"),
        issuer_id="urn:oin:00000001999999999000",
        signer=stranger,
        holder_jwk=scheme.holder_pub,
        iat=int(NOW),
        exp=int(NOW) + 30 * DAY,
    )
    raises(
        TrustError,
        "untrusted_issuer",
        scheme.verifier().verify,
        one("debt_statements", present_text(scheme, token)),
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )


@pytest.mark.parametrize("signer", ["unregistered", "duo"])
def test_key_not_in_the_trust_list_for_that_issuer(scheme: Scheme, signer: str) -> None:
    key = Key.generate() if signer == "unregistered" else scheme.duo.signer
    token = issue_sd_jwt_vc(
        get_profile(DEBT_STATEMENT_VCT),
        load("debt-statement.json"),
        issuer_id=CJIB,
        signer=key,
        holder_jwk=scheme.holder_pub,
        iat=int(NOW),
        exp=int(NOW) + 30 * DAY,
    )
    raises(
        TrustError,
        "untrusted_key",
        scheme.verifier().verify,
        one("debt_statements", present_text(scheme, token)),
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )


def test_trust_list_expired_at_verification_time(scheme: Scheme) -> None:
    later = NOW + 31 * DAY
    raises(
        TrustError,
        "trust_list_expired",
        TrustList.verify,
        scheme.trust_jwt,
        scheme.anchor.public(),
        now=later,
    )
    # still fresh the day before it expires; a list too old for the caller's max_age is expired
    assert TrustList.verify(scheme.trust_jwt, scheme.anchor.public(), now=NOW + 29 * DAY).issuer
    raises(
        TrustError,
        "trust_list_expired",
        TrustList.verify,
        scheme.trust_jwt,
        scheme.anchor.public(),
        now=NOW + 2 * DAY,
        max_age=DAY,
    )
    raises(
        TrustError,
        "trust_list_invalid",
        TrustList.verify,
        scheme.trust_jwt,
        Key.generate().public(),
        now=NOW,
    )


def test_verifier_refuses_when_its_trust_list_has_expired(scheme: Scheme) -> None:
    """A long-running verifier holds a TrustList object: verification stops at its exp
    (specs/trust-list.md), whatever else would have been checked."""
    later = NOW + 31 * DAY
    pres = present_text(scheme, scheme.decl.text, [("subject", "family_name")], iat=later)
    raises(
        TrustError,
        "trust_list_expired",
        scheme.verifier(allow_missing_status=True).verify,
        one("payment_incapacity_declaration", pres),
        nonce=NONCE,
        audience=AUD,
        now=later,
    )


# ------------------------------------------------------------------------------------------
# Disclosure rules of the type metadata
# ------------------------------------------------------------------------------------------
def crafted_payload(s: Scheme, *, vct: str = DEBT_STATEMENT_VCT) -> dict[str, Any]:
    """What the issuer recipe would sign for CJIB's statement (or the declaration), built by
    hand so that single claims can be wrapped or unwrapped."""
    real = SDJWT.parse(s.cjib_stmt.text if vct == DEBT_STATEMENT_VCT else s.decl.text)
    payload = real.unverified_payload()
    data = load(
        "debt-statement.json" if vct == DEBT_STATEMENT_VCT else "rode-knop-declaration.json"
    )
    out: dict[str, Any] = {
        k: payload[k] for k in ("iss", "iat", "nbf", "exp", "vct", "status") if k in payload
    }
    out.update(get_profile(vct).mark(data))
    return out


def craft(
    s: Scheme, payload: dict[str, Any], *, vct: str = DEBT_STATEMENT_VCT, bind_holder: bool = True
) -> str:
    signer = s.cjib.signer if vct == DEBT_STATEMENT_VCT else s.gem.signer
    return issue_sd_jwt(
        payload, signer, typ="dc+sd-jwt", decoys=0, holder_jwk=s.holder_pub if bind_holder else None
    )


def verify_crafted(s: Scheme, token: str, *, vct: str = DEBT_STATEMENT_VCT) -> Any:
    qid = "debt_statements" if vct == DEBT_STATEMENT_VCT else "payment_incapacity_declaration"
    return s.verifier().verify(
        one(qid, present_text(s, token, None)), nonce=NONCE, audience=AUD, now=NOW
    )


@pytest.mark.parametrize("vct", [DEBT_STATEMENT_VCT, RODE_KNOP_VCT])
def test_crafted_baseline_verifies(scheme: Scheme, vct: str) -> None:
    """Control: the hand-built credential verifies, so each rejection below has one cause."""
    res = verify_crafted(scheme, craft(scheme, crafted_payload(scheme, vct=vct), vct=vct), vct=vct)
    assert res.credentials[0].vct == vct
    assert res.credentials[0].status == "valid"


@pytest.mark.parametrize("claim", ["iss", "exp", "vct", "status", "nbf"])
def test_technical_claim_as_disclosure_is_refused(scheme: Scheme, claim: str) -> None:
    vct = RODE_KNOP_VCT if claim == "nbf" else DEBT_STATEMENT_VCT
    payload = crafted_payload(scheme, vct=vct)
    payload[claim] = SD(payload[claim])
    err = raises(
        DisclosureError,
        "disclosure_not_allowed",
        verify_crafted,
        scheme,
        craft(scheme, payload, vct=vct),
        vct=vct,
    )
    assert claim in err.message


def test_cnf_as_disclosure_is_refused(scheme: Scheme) -> None:
    payload = crafted_payload(scheme)
    payload["cnf"] = SD({"jwk": scheme.holder_pub})
    raises(
        DisclosureError,
        "disclosure_not_allowed",
        verify_crafted,
        scheme,
        craft(scheme, payload, bind_holder=False),
    )


@pytest.mark.parametrize(
    ("vct", "path"),
    [
        (RODE_KNOP_VCT, ("valid_until",)),
        (RODE_KNOP_VCT, ("municipality", "code")),
        (DEBT_STATEMENT_VCT, ("balance_at",)),
        (DEBT_STATEMENT_VCT, ("creditor",)),
    ],
)
def test_never_disclosable_claim_as_disclosure_is_refused(
    scheme: Scheme, vct: str, path: tuple[str, ...]
) -> None:
    payload = crafted_payload(scheme, vct=vct)
    node = payload
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = SD(node[path[-1]])
    raises(
        DisclosureError,
        "disclosure_not_allowed",
        verify_crafted,
        scheme,
        craft(scheme, payload, vct=vct),
        vct=vct,
    )


@pytest.mark.parametrize(
    ("vct", "path"),
    [
        (DEBT_STATEMENT_VCT, ("subject", "family_name")),
        (DEBT_STATEMENT_VCT, ("totals", "outstanding")),
        (RODE_KNOP_VCT, ("subject", "bsn")),
        (RODE_KNOP_VCT, ("application_date",)),
    ],
)
def test_always_disclosable_claim_in_plaintext_is_refused(
    scheme: Scheme, vct: str, path: tuple[str, ...]
) -> None:
    payload = crafted_payload(scheme, vct=vct)
    node = payload
    for k in path[:-1]:
        node = node[k]
    assert isinstance(node[path[-1]], SD)
    node[path[-1]] = node[path[-1]].value
    err = raises(
        DisclosureError,
        "sd_required",
        verify_crafted,
        scheme,
        craft(scheme, payload, vct=vct),
        vct=vct,
    )
    assert ".".join(path) in err.message


# ------------------------------------------------------------------------------------------
# Holder binding and validity times
# ------------------------------------------------------------------------------------------
def test_wrong_nonce_and_wrong_audience(scheme: Scheme) -> None:
    vp = scheme.present(request("rode-knop-check.json"), nonce="the nonce CJIB sent")
    v = scheme.verifier()
    raises(
        HolderBindingError,
        "nonce_mismatch",
        v.verify,
        vp,
        nonce="another nonce",
        audience=AUD,
        now=NOW,
    )
    raises(
        HolderBindingError,
        "audience_mismatch",
        v.verify,
        vp,
        nonce="the nonce CJIB sent",
        audience=DUO,
        now=NOW,
    )
    assert v.verify(vp, nonce="the nonce CJIB sent", audience=AUD, now=NOW).credentials


def test_missing_key_binding(scheme: Scheme) -> None:
    bare = SDJWT.parse(scheme.decl.text).present([["subject", "family_name"]], holder_key=None)
    assert bare.endswith("~")
    raises(
        HolderBindingError,
        "key_binding_missing",
        scheme.verifier().verify,
        one("payment_incapacity_declaration", bare),
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )


def test_key_binding_too_old_or_from_the_future(scheme: Scheme) -> None:
    old = scheme.present(request("rode-knop-check.json"), now=NOW - 400)
    raises(
        HolderBindingError,
        "presentation_too_old",
        scheme.verifier(kb_max_age=300).verify,
        old,
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )
    # a verifier that allows older proofs accepts the very same presentation
    assert (
        scheme.verifier(kb_max_age=600).verify(old, nonce=NONCE, audience=AUD, now=NOW).credentials
    )
    future = scheme.present(request("rode-knop-check.json"), now=NOW + 600)
    raises(
        HolderBindingError,
        "presentation_in_future",
        scheme.verifier().verify,
        future,
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )


def test_key_binding_taken_from_another_presentation(scheme: Scheme) -> None:
    names = scheme.present(request("rode-knop-check.json"))["payment_incapacity_declaration"][0]
    with_bsn = scheme.present(request("rode-knop-check-public-creditor.json"))[
        "payment_incapacity_declaration"
    ][0]
    kb_of_names = names.rsplit("~", 1)[1]
    # the BSN-revealing presentation with the key binding of the one without the BSN
    spliced = with_bsn.rsplit("~", 1)[0] + "~" + kb_of_names
    raises(
        HolderBindingError,
        "sd_hash_mismatch",
        scheme.verifier().verify,
        one("payment_incapacity_declaration", spliced),
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )
    # and across credentials of the same holder
    stmt = scheme.present(request("outstanding-totals.json"))["debt_statements"][0]
    spliced = stmt.rsplit("~", 1)[0] + "~" + kb_of_names
    raises(
        HolderBindingError,
        "sd_hash_mismatch",
        scheme.verifier().verify,
        one("debt_statements", spliced),
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )


def test_key_binding_signed_by_another_key(scheme: Scheme) -> None:
    pres = present_text(
        scheme, scheme.decl.text, [("subject", "family_name")], holder=Key.generate()
    )
    raises(
        HolderBindingError,
        "key_binding_signature",
        scheme.verifier().verify,
        one("payment_incapacity_declaration", pres),
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )


def test_expired_credential(scheme: Scheme) -> None:
    exp = SDJWT.parse(scheme.cjib_stmt.text).unverified_payload()["exp"]
    assert exp == int(NOW) + 30 * DAY  # the profile's default validity
    late = exp + 3600
    v = Verifier(scheme.long_trust(), status=scheme.cache, allow_missing_status=True)
    pres = present_text(scheme, scheme.cjib_stmt.text, [("totals", "outstanding")], iat=late)
    raises(
        ValidityError,
        "expired",
        v.verify,
        one("debt_statements", pres),
        nonce=NONCE,
        audience=AUD,
        now=late,
    )
    # a minute before exp it still verifies (status aside)
    pres = present_text(scheme, scheme.cjib_stmt.text, [("totals", "outstanding")], iat=exp - 60)
    res = v.verify(one("debt_statements", pres), nonce=NONCE, audience=AUD, now=exp - 60)
    assert res.credentials[0].status == "not_checked"  # the cached lists are stale by then


def test_declaration_whose_window_lies_ahead_is_not_yet_valid(scheme: Scheme) -> None:
    data = load("rode-knop-declaration.json")
    data.update(
        declaration_id="GM0772-RK-2026-0900",
        trajectory_start="2026-12-07",
        valid_from="2026-12-07",
        valid_until="2027-04-06",
    )
    cred = scheme.gem.issue(
        PaymentIncapacityDeclaration.from_claims(data),
        holder_jwk=scheme.wallet.holder_jwk(),
        now=NOW,
    )
    nbf = SDJWT.parse(cred.text).unverified_payload()["nbf"]
    assert nbf > NOW + 14 * DAY
    pres = present_text(scheme, cred.text, [("subject", "family_name")])
    raises(
        ValidityError,
        "not_yet_valid",
        scheme.verifier().verify,
        one("payment_incapacity_declaration", pres),
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )
    # once the window opens it verifies
    at = nbf + 3600
    pres = present_text(scheme, cred.text, [("subject", "family_name")], iat=at)
    res = scheme.verifier(allow_missing_status=True).verify(
        one("payment_incapacity_declaration", pres), nonce=NONCE, audience=AUD, now=at
    )
    assert res.credentials[0].claims["valid_from"] == "2026-12-07"


# ------------------------------------------------------------------------------------------
# Status
# ------------------------------------------------------------------------------------------
def test_revoked_suspended_resumed(scheme: Scheme, tmp_path: Path) -> None:
    revoked, suspended = fresh_statement(scheme), fresh_statement(scheme)
    cache = StatusCache(tmp_path / "cache", trust_list=scheme.trust)
    publish_into(cache, scheme.cjib, tmp_path / "p0", NOW)
    v = Verifier(scheme.trust, status=cache)

    def check(cred: IssuedCredential, at: float) -> Any:
        pres = present_text(scheme, cred.text, [("totals", "outstanding")], iat=at)
        return v.verify(one("debt_statements", pres), nonce=NONCE, audience=AUD, now=at)

    assert check(revoked, NOW + 5).credentials[0].status == "valid"
    scheme.cjib.revoke(revoked.credential_id, reason="superseded by a new statement", actor="tests")
    scheme.cjib.suspend(suspended.credential_id, reason="disputed", actor="tests")
    publish_into(cache, scheme.cjib, tmp_path / "p1", NOW + 10)
    raises(StatusError, "revoked", check, revoked, NOW + 20)
    raises(StatusError, "suspended", check, suspended, NOW + 20)
    scheme.cjib.resume(suspended.credential_id, reason="dispute settled", actor="tests")
    publish_into(cache, scheme.cjib, tmp_path / "p2", NOW + 30)
    assert check(suspended, NOW + 40).credentials[0].status == "valid"
    raises(StatusError, "revoked", check, revoked, NOW + 40)
    # the other credentials on the same list are untouched
    assert check(scheme.cjib_stmt, NOW + 40).credentials[0].status == "valid"


def test_no_status_source(scheme: Scheme, tmp_path: Path) -> None:
    vp = scheme.present(request("hold-and-totals.json"))
    raises(
        StatusError,
        "status_unavailable",
        Verifier(scheme.trust).verify,
        vp,
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )
    empty = StatusCache(tmp_path / "empty")
    raises(
        StatusError,
        "status_unavailable",
        Verifier(scheme.trust, status=empty).verify,
        vp,
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )
    for status in (None, empty):
        res = Verifier(scheme.trust, status=status, allow_missing_status=True).verify(
            vp, nonce=NONCE, audience=AUD, now=NOW
        )
        assert [c.status for c in res.credentials] == ["not_checked"] * 3


def test_allow_missing_status_never_hides_a_revocation(scheme: Scheme, tmp_path: Path) -> None:
    cred = fresh_statement(scheme)
    scheme.cjib.revoke(cred.credential_id, reason="test", actor="tests")
    cache = StatusCache(tmp_path / "cache", trust_list=scheme.trust)
    publish_into(cache, scheme.cjib, tmp_path / "p", NOW)
    pres = present_text(scheme, cred.text, [("totals", "outstanding")])
    raises(
        StatusError,
        "revoked",
        Verifier(scheme.trust, status=cache, allow_missing_status=True).verify,
        one("debt_statements", pres),
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )


def test_stale_status_list(scheme: Scheme, tmp_path: Path) -> None:
    cache = StatusCache(tmp_path / "cache", trust_list=scheme.trust)
    publish_into(cache, scheme.cjib, tmp_path / "p", NOW, ttl=3600, valid_seconds=1800)
    v = Verifier(scheme.trust, status=cache)

    def at(t: float) -> Any:
        pres = present_text(scheme, scheme.cjib_stmt.text, [("totals", "outstanding")], iat=t)
        return v.verify(one("debt_statements", pres), nonce=NONCE, audience=AUD, now=t)

    assert at(NOW + 1700).credentials[0].status == "valid"
    err = raises(StatusError, "status_unavailable", at, NOW + 1800 + 120)  # past the list's exp
    assert "stale" in err.message
    # past the ttl (from the list's own issue time) while exp is still ahead
    publish_into(cache, scheme.cjib, tmp_path / "p2", NOW + 10, ttl=600, valid_seconds=DAY)
    err = raises(StatusError, "status_unavailable", at, NOW + 10 + 600 + 120)
    assert "stale" in err.message


def test_status_list_of_another_organisation(scheme: Scheme, tmp_path: Path) -> None:
    cjib_uri, duo_uri = scheme.cjib_stmt.status_uri, scheme.duo_stmt.status_uri
    pres = present_text(scheme, scheme.cjib_stmt.text, [("totals", "outstanding")])
    vp = one("debt_statements", pres)

    # 1. DUO's published list file copied into the cache under CJIB's URI
    cache = scheme.own_cache(tmp_path / "a")
    duo_file = cache.directory / cache_file_name(duo_uri, DUO)
    (cache.directory / cache_file_name(cjib_uri, CJIB)).write_bytes(duo_file.read_bytes())
    raises(
        StatusError,
        "status_invalid",
        Verifier(scheme.trust, status=cache).verify,
        vp,
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )

    # 2. CJIB's own list (right URI, right bits) signed with DUO's key: naming CJIB it never
    # enters the cache; naming DUO it is filed as DUO's and never read for CJIB's credentials
    info = next(i for i in scheme.cjib.register.lists() if i.uri == cjib_uri)
    bits = scheme.cjib.register.status_list_bits(info.id)
    for iss in (CJIB, DUO):
        token = sign_status_list_token(
            bits, uri=cjib_uri, issuer=iss, signer=scheme.duo.signer, now=NOW, ttl=3600
        )
        cache = StatusCache(tmp_path / f"b-{iss[-4:]}", trust_list=scheme.trust)
        if iss == CJIB:
            raises(
                StatusError, "status_invalid", cache.put, cjib_uri, token.encode(), fetched_at=NOW
            )
        else:
            cache.put(cjib_uri, token.encode(), fetched_at=NOW)
        raises(
            StatusError,
            "status_unavailable",
            Verifier(scheme.trust, status=cache).verify,
            vp,
            nonce=NONCE,
            audience=AUD,
            now=NOW,
        )

    # control: the same list signed by CJIB is accepted
    token = sign_status_list_token(
        bits, uri=cjib_uri, issuer=CJIB, signer=scheme.cjib.signer, now=NOW, ttl=3600
    )
    cache = StatusCache(tmp_path / "c", trust_list=scheme.trust)
    cache.put(cjib_uri, token.encode(), fetched_at=NOW)
    res = Verifier(scheme.trust, status=cache).verify(vp, nonce=NONCE, audience=AUD, now=NOW)
    assert res.credentials[0].status == "valid"


# ------------------------------------------------------------------------------------------
# The response must answer the request
# ------------------------------------------------------------------------------------------
def test_answer_to_a_query_that_was_not_asked(scheme: Scheme) -> None:
    vp = scheme.present(request("outstanding-totals.json"))
    raises(
        PolicyError,
        "query_unknown",
        scheme.verifier().verify,
        vp,
        nonce=NONCE,
        audience=AUD,
        request=request("rode-knop-check.json"),
        now=NOW,
    )


def test_presentation_missing_a_requested_claim(scheme: Scheme) -> None:
    full = request("rode-knop-check.json")
    fewer = copy.deepcopy(full)
    fewer["credentials"][0]["claims"] = [
        c for c in fewer["credentials"][0]["claims"] if c["path"] != ["subject", "birthdate"]
    ]
    vp = scheme.present(fewer)
    assert scheme.verifier().verify(vp, nonce=NONCE, audience=AUD, request=fewer, now=NOW)
    err = raises(
        PolicyError,
        "claim_missing",
        scheme.verifier().verify,
        vp,
        nonce=NONCE,
        audience=AUD,
        request=full,
        now=NOW,
    )
    assert "birthdate" in err.message


def test_required_credential_missing(scheme: Scheme) -> None:
    both = copy.deepcopy(request("hold-and-totals.json"))
    del both["credential_sets"]  # now the debt statements are required too
    vp = scheme.present(request("rode-knop-check.json"))
    raises(
        PolicyError,
        "credential_missing",
        scheme.verifier().verify,
        vp,
        nonce=NONCE,
        audience=AUD,
        request=both,
        now=NOW,
    )
    # the optional set of the original request is fine without statements
    res = scheme.verifier().verify(
        vp, nonce=NONCE, audience=AUD, request=request("hold-and-totals.json"), now=NOW
    )
    assert [c.vct for c in res.credentials] == [RODE_KNOP_VCT]


# ------------------------------------------------------------------------------------------
# Malformed vp_tokens
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("vp_token", "code"),
    [
        ('["a~b~"]', "vp_token_malformed"),
        ("42", "vp_token_malformed"),
        ('"eyJ...~"', "vp_token_malformed"),
        ([1, 2], "vp_token_malformed"),
        (42, "vp_token_malformed"),
        ({}, "vp_token_malformed"),
        ("{}", "vp_token_malformed"),
        ({"q": []}, "vp_token_malformed"),
        ({"q": "eyJ...~"}, "vp_token_malformed"),
        ({"q": [1]}, "vp_token_malformed"),
        ({"q": [1.5]}, "vp_token_malformed"),
        ({"q": [None]}, "vp_token_malformed"),
        ({"q": [["a~"]]}, "vp_token_malformed"),
        ({"": ["a~"]}, "vp_token_malformed"),
        ({"q": ["a~"] * 65}, "too_large"),
        ({"a": ["x~"] * 40, "b": ["y~"] * 25}, "too_large"),
        ("{" + " " * (2 * 1024 * 1024) + "}", "too_large"),
        ("not json at all", "malformed_json"),
    ],
)
def test_malformed_vp_token(scheme: Scheme, vp_token: Any, code: str) -> None:
    raises(MalformedError, code, parse_vp_token, vp_token)
    raises(
        MalformedError, code, scheme.verifier().verify, vp_token, nonce=NONCE, audience=AUD, now=NOW
    )
    raises(
        MalformedError, code, scheme.verifier().check, vp_token, nonce=NONCE, audience=AUD, now=NOW
    )


def test_presentation_of_the_wrong_kind(scheme: Scheme) -> None:
    raises(
        MalformedError,
        "vp_token_malformed",
        scheme.verifier().verify_presentation,
        42,
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )
    assert parse_vp_token({"q": ["a~", {"x": 1}]}) == {"q": ["a~", {"x": 1}]}


def test_tampered_disclosure_is_refused(scheme: Scheme) -> None:
    pres = scheme.present(request("rode-knop-check.json"))["payment_incapacity_declaration"][0]
    parts = pres.split("~")
    # a disclosure the issuer never signed, in place of a real one (KB re-made over it)
    fake = (
        SDJWT.parse(
            issue_sd_jwt({"subject": {"family_name": SD("Pietersen")}}, scheme.gem.signer, decoys=0)
        )
        .disclosures[0]
        .encoded
    )
    body = "~".join([parts[0], fake, *parts[2:-1]]) + "~"
    sd = SDJWT.parse(body)
    forged = sd.present(None, holder_key=scheme.holder_key, nonce=NONCE, audience=AUD, iat=int(NOW))
    raises(
        DisclosureError,
        "disclosure_unreferenced",
        scheme.verifier().verify,
        one("payment_incapacity_declaration", forged),
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )
    # and one changed byte in the issuer's signature
    h, payload, sig = parts[0].split(".")
    bad = f"{h}.{payload}.{sig[:10]}{'A' if sig[10] != 'A' else 'B'}{sig[11:]}"
    raises(
        SignatureError,
        "signature_invalid",
        scheme.verifier().verify,
        one("payment_incapacity_declaration", pres.replace(parts[0], bad, 1)),
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )


# ------------------------------------------------------------------------------------------
# The same checks on the W3C encoding (VC 2.0 + ecdsa-sd-2023), where cheap
# ------------------------------------------------------------------------------------------
@dataclass
class DIScheme:
    wallet: Wallet
    cache: StatusCache
    creds: dict[str, IssuedCredential]


@pytest.fixture(scope="module")
def di(scheme: Scheme, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DIScheme]:
    work = tmp_path_factory.mktemp("verifier-di")
    # its own wallet: a statement in the second encoding would supersede nothing here
    wallet = Wallet.create(work / "wallet", passphrase="verifier di tests", scrypt_n=2**10)
    holder = wallet.holder_jwk()
    decl = load("rode-knop-declaration.json")
    decl["declaration_id"] += "-DI"
    creds = {
        "decl": scheme.gem.issue(
            PaymentIncapacityDeclaration.from_claims(decl), holder_jwk=holder, format="di", now=NOW
        ),
    }
    for name, issuer, file in (
        ("cjib", scheme.cjib, "debt-statement.json"),
        ("duo", scheme.duo, "debt-statement-duo.json"),
    ):
        data = load(file)
        data["statement_id"] += "-DI"
        creds[name] = issuer.issue(
            DebtStatement.from_claims(data), holder_jwk=holder, format="di", now=NOW
        )
    for c in creds.values():
        assert c.format == "ldp_vc"
        wallet.add(c.text, trust_list=scheme.trust, now=NOW)
    cache = scheme.own_cache(work)
    yield DIScheme(wallet=wallet, cache=cache, creds=creds)
    wallet.close()


def test_di_multi_credential_vp_token_verifies(scheme: Scheme, di: DIScheme) -> None:
    req = request("hold-and-totals-di.json")
    vp = di.wallet.present(req, nonce=NONCE, audience=AUD, now=NOW)
    assert all(isinstance(p, dict) for ps in vp.values() for p in ps)
    res = Verifier(scheme.trust, status=di.cache).verify(
        vp, nonce=NONCE, audience=AUD, request=req, now=NOW
    )
    assert sorted((c.query_id, c.format, c.vct, c.issuer) for c in res.credentials) == [
        ("debt_statements", "ldp_vc", DEBT_STATEMENT_VCT, CJIB),
        ("debt_statements", "ldp_vc", DEBT_STATEMENT_VCT, DUO),
        ("payment_incapacity_declaration", "ldp_vc", RODE_KNOP_VCT, GEM),
    ]
    (decl,) = res.by_query("payment_incapacity_declaration")
    data = load("rode-knop-declaration.json")
    data["declaration_id"] += "-DI"
    assert dict(decl.claims) == expected_claims(
        RODE_KNOP_VCT, data, request_paths(req, "payment_incapacity_declaration", strip=1)
    )
    assert "bsn" not in json.dumps(decl.claims)
    for c in res.by_query("debt_statements"):
        assert c.status == "valid"
        data = load("debt-statement.json" if c.issuer == CJIB else "debt-statement-duo.json")
        data["statement_id"] += "-DI"
        want = expected_claims(DEBT_STATEMENT_VCT, data, request_paths(req, "debt_statements", 1))
        # one difference between the encodings: SD-JWT keeps the empty "subject": {} container
        # (its members are all withheld), a derived ecdsa-sd-2023 proof leaves it out
        assert want.pop("subject") == {}
        assert dict(c.claims) == want
        assert c.claims["totals"] == {"outstanding": 50000 if c.issuer == CJIB else 1438000}
    raises(
        HolderBindingError,
        "nonce_mismatch",
        Verifier(scheme.trust, status=di.cache).verify,
        vp,
        nonce="other",
        audience=AUD,
        now=NOW,
    )
    raises(
        HolderBindingError,
        "audience_mismatch",
        Verifier(scheme.trust, status=di.cache).verify,
        vp,
        nonce=NONCE,
        audience=DUO,
        now=NOW,
    )


def test_di_declaration_from_a_creditor_is_refused(scheme: Scheme, di: DIScheme) -> None:
    from di_compat import issue_di_credential, present_di

    holder = di.wallet.holder_key()
    data = load("rode-knop-declaration.json")
    text = issue_di_credential(
        scheme.cjib,
        get_profile(RODE_KNOP_VCT),
        data,
        holder=holder.public(),
        iat=int(NOW),
        nbf=int(NOW) - DAY,
        exp=int(NOW) + 90 * DAY,
        status=[],
    )
    raises(TrustError, "untrusted_issuer", di.wallet.add, text, trust_list=scheme.trust, now=NOW)
    vp = present_di(
        json.loads(text),
        [("credentialSubject", "subject", "family_name")],
        holder_key=holder,
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )
    raises(
        TrustError,
        "untrusted_issuer",
        Verifier(scheme.trust, allow_missing_status=True).verify,
        one("payment_incapacity_declaration", vp),
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )


def test_di_revoked(scheme: Scheme, di: DIScheme, tmp_path: Path) -> None:
    from di_compat import present_di

    data = load("debt-statement.json")
    data["statement_id"] = f"CJIB-2026-DI-T{next(_serial)}"
    cred = scheme.cjib.issue(
        DebtStatement.from_claims(data), holder_jwk=di.wallet.holder_jwk(), format="di", now=NOW
    )
    vp = one(
        "debt_statements",
        present_di(
            json.loads(cred.text),
            [("credentialSubject", "totals", "outstanding")],
            holder_key=di.wallet.holder_key(),
            nonce=NONCE,
            audience=AUD,
            now=NOW,
        ),
    )
    cache = StatusCache(tmp_path / "cache", trust_list=scheme.trust)
    publish_into(cache, scheme.cjib, tmp_path / "p0", NOW)
    assert (
        Verifier(scheme.trust, status=cache)
        .verify(vp, nonce=NONCE, audience=AUD, now=NOW)
        .credentials[0]
        .status
        == "valid"
    )
    scheme.cjib.revoke(cred.credential_id, reason="test", actor="tests")
    publish_into(cache, scheme.cjib, tmp_path / "p1", NOW + 1)
    raises(
        StatusError,
        "revoked",
        Verifier(scheme.trust, status=cache).verify,
        vp,
        nonce=NONCE,
        audience=AUD,
        now=NOW + 5,
    )
    raises(
        StatusError,
        "status_unavailable",
        Verifier(scheme.trust).verify,
        vp,
        nonce=NONCE,
        audience=AUD,
        now=NOW + 5,
    )
