"""Held-out review (issue 12), the claim findings: each test feeds one attack and expects the
refusal with its code.

* 12.6  claims not bound to the signer (``issuer_mismatch``), at issuance, verification and
  wallet import, both encodings;
* 12.10 impossible calendar dates in signed claims (``claims_invalid``, never a crash);
* 12.11 an old trust list (``trust_list_expired`` by default, ``--max-age`` in the CLI);
* 12.16 ``aka_vcts`` as a disclosure, DCQL number matching, expanded ``type_values``;
* 12.17 a credential of our type without its essential claims, with invented or ill-typed
  claims (``claims_invalid``), both encodings and at import.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from di_compat import issue_di_credential
from hostile._world import (
    AUD,
    NONCE,
    NOW,
    SD,
    DCQLQuery,
    World,
    di_issue,
    present_di,
    world,
)
from scheme import CJIB_ORG, GEMEENTE_EINDHOVEN

from blauweknop import (
    BlauweKnopError,
    Key,
    TrustList,
    Wallet,
    build_trust_list,
    get_profile,
)
from blauweknop._dcql import PresentedCredential, check_response
from blauweknop._errors import InvalidDataError
from blauweknop.debt import DebtStatement
from rodeknop_vc import RODE_KNOP_VCT, PaymentIncapacityDeclaration

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "examples" / "data"
AMSTERDAM = {"name": "Gemeente Amsterdam", "code": "GM0363", "oin": "00000001002564440000"}
DUO_CREDITOR = {"name": "DUO", "oin": "00000001800866472000", "code": "DUO"}


@pytest.fixture(scope="module")
def w() -> World:
    return world()


@pytest.fixture
def wallet(tmp_path: Path) -> Iterator[Wallet]:
    wl = Wallet.create(tmp_path / "wallet", passphrase="correct horse", scrypt_n=2**10)
    yield wl
    wl.close()


def refused(call: Callable[[], Any], code: str) -> BlauweKnopError:
    with pytest.raises(BlauweKnopError) as e:
        call()
    assert e.value.code == code, (e.value.code, e.value.message)
    return e.value


def stmt_token(w: World, holder: Key | None = None, **changes: Any) -> str:
    """A CJIB-signed debt statement with changed (already SD-marked) claims, no KB-JWT."""
    return w.issue_raw(w.stmt_claims(**changes), org=w.cjib, holder=holder)


def decl_token(w: World, change: Callable[[dict[str, Any]], None]) -> str:
    """A declaration signed by Gemeente Eindhoven with changed domain claims."""
    data = json.loads((DATA / "rode-knop-declaration.json").read_text())
    change(data)
    claims = {
        "iss": w.gemeente.id,
        "iat": NOW - 3600,
        "nbf": NOW - 3600,
        "exp": NOW + 86400,
        "vct": RODE_KNOP_VCT,
        **get_profile(RODE_KNOP_VCT).mark(data),
    }
    return w.issue_raw(claims, org=w.gemeente)


def verify_sd(w: World, token: str, **kw: Any) -> Any:
    return w.verify(w.vp(w.bind(token)), allow_missing_status=True, **kw)


# -- 12.6 claims bound to the signer ------------------------------------------------------------
def test_eindhoven_declaration_naming_amsterdam_is_refused(w: World) -> None:
    token = decl_token(w, lambda d: d.update(municipality=dict(AMSTERDAM)))
    refused(lambda: verify_sd(w, token), "issuer_mismatch")


def test_eindhoven_declaration_with_own_oin_but_amsterdams_name_is_refused(w: World) -> None:
    token = decl_token(w, lambda d: d["municipality"].update(name="Gemeente Amsterdam"))
    refused(lambda: verify_sd(w, token), "issuer_mismatch")


def test_cjib_statement_naming_duo_as_creditor_is_refused(w: World) -> None:
    token = stmt_token(w, creditor=dict(DUO_CREDITOR))
    refused(lambda: verify_sd(w, token), "issuer_mismatch")


def test_honest_statement_still_verifies(w: World) -> None:
    # The control: the same route with the issuer's own name (case and spacing differ).
    token = stmt_token(w, creditor={"name": "  cjib ", "oin": "00000001003214345000"})
    (cred,) = verify_sd(w, token).credentials
    assert cred.claims["creditor"]["oin"] == "00000001003214345000"


def test_di_declaration_naming_amsterdam_is_refused(w: World) -> None:
    doc = di_issue(w, lambda d: d.update(municipality=dict(AMSTERDAM)))
    vp = present_di(
        doc, [["credentialSubject", "subject", "family_name"]], holder_key=w.holder,
        nonce=NONCE, audience=AUD, now=NOW,
    )  # fmt: skip
    refused(lambda: w.verify(w.vp(vp)), "issuer_mismatch")


def test_wallet_refuses_a_statement_naming_another_creditor(w: World, wallet: Wallet) -> None:
    token = stmt_token(w, holder=wallet.holder_key(), creditor=dict(DUO_CREDITOR))
    refused(lambda: wallet.add(token, trust_list=w.trust, now=NOW), "issuer_mismatch")
    assert wallet.credentials(now=NOW) == []


def test_wallet_refuses_a_di_declaration_naming_amsterdam(w: World, wallet: Wallet) -> None:
    data = json.loads((DATA / "rode-knop-declaration.json").read_text())
    data["municipality"] = dict(AMSTERDAM)
    text = issue_di_credential(
        SimpleNamespace(signer=w.gemeente.key, issuer_id=w.gemeente.id),  # type: ignore[arg-type]
        get_profile(RODE_KNOP_VCT),
        data,
        holder=wallet.holder_key(),
        iat=NOW - 3600,
        nbf=NOW - 3600,
        exp=NOW + 86400,
        status=w.di["decl"]["credentialStatus"],
    )
    refused(lambda: wallet.add(text, trust_list=w.trust, now=NOW), "issuer_mismatch")
    assert wallet.credentials(now=NOW) == []


def test_issuer_refuses_to_sign_claims_naming_another_organisation(tmp_path: Path) -> None:
    gem = GEMEENTE_EINDHOVEN.init(tmp_path / "gem")
    data = json.loads((DATA / "rode-knop-declaration.json").read_text())
    data["municipality"] = dict(AMSTERDAM)
    decl = PaymentIncapacityDeclaration.from_claims(data)
    hjwk = Key.generate().public_jwk()
    refused(lambda: gem.issue(decl, holder_jwk=hjwk, now=NOW - 7 * 86400), "issuer_mismatch")
    cjib = CJIB_ORG.init(tmp_path / "cjib")
    stmt = json.loads((DATA / "debt-statement.json").read_text())
    stmt["creditor"] = dict(DUO_CREDITOR)
    refused(lambda: cjib.issue(DebtStatement.from_claims(stmt), holder_jwk=hjwk), "issuer_mismatch")


# -- 12.10 impossible calendar dates --------------------------------------------------------------
def test_statement_with_february_30_is_refused_by_the_verifier(w: World) -> None:
    token = stmt_token(w, balance_at="2026-02-30T09:00:00+01:00")
    e = refused(lambda: verify_sd(w, token), "claims_invalid")
    assert "balance_at" in e.message and "^" not in e.message


def test_wallet_import_of_february_30_is_refused_not_a_crash_in_overview(
    w: World, wallet: Wallet
) -> None:
    token = stmt_token(w, holder=wallet.holder_key(), balance_at="2026-02-30T09:00:00+01:00")
    refused(lambda: wallet.add(token, trust_list=w.trust, now=NOW), "claims_invalid")
    assert wallet.overview(now=NOW).creditors == ()


def test_wallet_import_of_month_13_is_refused(w: World, wallet: Wallet) -> None:
    token = stmt_token(w, holder=wallet.holder_key(), balance_at="2026-13-01T09:00:00Z")
    refused(lambda: wallet.add(token, trust_list=w.trust, now=NOW), "claims_invalid")


def test_declaration_with_an_impossible_date_is_refused(w: World) -> None:
    token = decl_token(w, lambda d: d.update(valid_until="2027-02-29"))
    refused(lambda: verify_sd(w, token), "claims_invalid")
    data = json.loads((DATA / "rode-knop-declaration.json").read_text())
    data["application_date"] = "2026-04-31"
    with pytest.raises(InvalidDataError) as e:
        PaymentIncapacityDeclaration.from_claims(data)
    assert e.value.field == "application_date"


# -- 12.11 trust-list age ----------------------------------------------------------------
def test_a_390_day_old_trust_list_is_refused_by_default(w: World) -> None:
    old = build_trust_list([w.cjib.entry()], w.anchor, valid_days=400, now=NOW - 390 * 86400)
    refused(lambda: TrustList.verify(old, w.anchor.public(), now=NOW), "trust_list_expired")
    # the caller may allow it explicitly (and the default is what made the difference)
    assert TrustList.verify(old, w.anchor.public(), now=NOW, max_age=None).issuer


def test_cli_trust_show_and_verify_refuse_an_old_list(w: World, tmp_path: Path) -> None:
    from blauweknop_cli.main import blauweknop

    now = time.time()  # the CLI reads the real clock; the list's age is relative to it
    old = build_trust_list([w.cjib.entry()], w.anchor, valid_days=400, now=now - 40 * 86400)
    (tmp_path / "trust.jwt").write_text(old)
    (tmp_path / "anchor.jwk").write_text(json.dumps(w.anchor.public_jwk()))
    (tmp_path / "vp.json").write_text(json.dumps({"q": ["x~"]}))
    show = ["trust", "show", str(tmp_path / "trust.jwt"), "--anchor", str(tmp_path / "anchor.jwk")]
    r = CliRunner().invoke(blauweknop, show)
    assert r.exit_code == 1 and "trust_list_expired" in r.output, r.output
    r = CliRunner().invoke(blauweknop, [*show, "--max-age", "60"])
    assert r.exit_code == 0 and w.cjib.id in r.output, r.output
    verify = [
        "verify", str(tmp_path / "vp.json"), "--trust-list", str(tmp_path / "trust.jwt"),
        "--anchor", str(tmp_path / "anchor.jwk"), "--nonce", "n", "--audience", "a",
    ]  # fmt: skip
    r = CliRunner().invoke(blauweknop, verify)
    assert r.exit_code == 1 and "trust_list_expired" in r.output, r.output
    r = CliRunner().invoke(blauweknop, [*verify, "--max-age", "30"])
    assert r.exit_code == 1 and "trust_list_expired" in r.output, r.output
    r = CliRunner().invoke(blauweknop, [*verify, "--max-age", "60"])
    assert "trust_list_expired" not in r.output, r.output  # now the vp_token itself is judged


# -- 12.16 interop findings -------------------------------------------------------------
def test_aka_vcts_sent_as_a_disclosure_is_refused(w: World) -> None:
    token = stmt_token(w, aka_vcts=SD(["urn:example:any-debt"]))
    refused(lambda: verify_sd(w, token), "disclosure_not_allowed")


def test_aka_vcts_element_sent_as_a_disclosure_is_refused(w: World) -> None:
    token = stmt_token(w, aka_vcts=[SD("urn:example:any-debt")])
    refused(lambda: verify_sd(w, token), "disclosure_not_allowed")


def _number_query(values: list[Any]) -> DCQLQuery:
    return DCQLQuery.parse(
        {
            "credentials": [
                {
                    "id": "q",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": ["urn:example:t"]},
                    "claims": [{"path": ["n"], "values": values}],
                }
            ]
        }
    )


def _answer(value: Any) -> dict[str, list[PresentedCredential]]:
    pc = PresentedCredential(
        format="dc+sd-jwt", types=("urn:example:t",), claims={"n": value}, disclosed=frozenset()
    )
    return {"q": [pc]}


@pytest.mark.parametrize(("asked", "claim"), [(2, 2.0), (2.0, 2), (0, -0.0)])
def test_dcql_number_values_match_across_int_and_float(asked: Any, claim: Any) -> None:
    query = _number_query([asked])
    assert query.credentials[0].claims is not None
    check_response(query, _answer(claim))  # raised type_mismatch / claim_missing before


@pytest.mark.parametrize(("asked", "claim"), [(1, True), (True, 1), (0, False), (2, "2")])
def test_dcql_booleans_and_strings_never_match_numbers(asked: Any, claim: Any) -> None:
    with pytest.raises(BlauweKnopError):
        check_response(_number_query([asked]), _answer(claim))


def test_type_values_with_compact_names_do_not_match_a_w3c_credential(w: World) -> None:
    def request(types: list[str]) -> dict[str, Any]:
        return {
            "credentials": [
                {
                    "id": "q",
                    "format": "ldp_vc",
                    "meta": {"type_values": [types]},
                    "claims": [{"path": ["credentialSubject", "subject", "family_name"]}],
                }
            ]
        }

    compact = request(["VerifiableCredential", "PaymentIncapacityDeclaration"])
    refused(lambda: w.verify(w.vp(w.di["vp"]), request=compact), "type_mismatch")
    expanded = request(
        [
            "https://www.w3.org/2018/credentials#VerifiableCredential",
            "https://w3id.org/blauweknop/vocab#PaymentIncapacityDeclaration",
        ]
    )
    assert w.verify(w.vp(w.di["vp"]), request=expanded).credentials


def test_example_di_requests_name_expanded_type_iris() -> None:
    for f in sorted((DATA / "requests").glob("*-di.json")):
        for cq in json.loads(f.read_text())["credentials"]:
            for alt in cq["meta"]["type_values"]:
                assert all(t.startswith("https://") for t in alt), (f.name, alt)


# -- 12.17 essential claims and schema at verification --------------------------------------------
def _invented_statement(w: World) -> dict[str, Any]:
    claims = w.stmt_claims(creditor=None, statement_id=None, subject=None, totals=None)
    claims.update(totals_outstanding=SD(1), totals_imposed=SD(1))
    return claims


def test_statement_without_its_essential_claims_is_refused(w: World) -> None:
    token = w.issue_raw(_invented_statement(w), org=w.cjib)
    e = refused(lambda: verify_sd(w, token), "claims_invalid")
    assert "missing" in e.message or "not a claim" in e.message


def test_statement_missing_only_statement_id_is_refused(w: World) -> None:
    token = stmt_token(w, statement_id=None)
    e = refused(lambda: verify_sd(w, token), "claims_invalid")
    assert "statement_id" in e.message


def test_statement_with_an_invented_claim_is_refused(w: World) -> None:
    token = stmt_token(w, note="pay to NL00FAKE0123456789")
    refused(lambda: verify_sd(w, token), "claims_invalid")
    token = stmt_token(w, note=SD("pay to NL00FAKE0123456789"))
    refused(lambda: verify_sd(w, token), "claims_invalid")


def test_disclosed_value_outside_the_schema_is_refused(w: World) -> None:
    claims = w.stmt_claims()
    claims["totals"] = {**claims["totals"], "outstanding": SD("a lot")}
    token = w.issue_raw(claims, org=w.cjib)
    refused(lambda: verify_sd(w, token), "claims_invalid")


def test_a_partial_presentation_of_an_honest_statement_still_verifies(w: World) -> None:
    # Withheld selectively disclosable claims (subject, totals, cases) are fine.
    vp = w.present("stmt", paths=[["totals", "outstanding"]])
    (cred,) = w.verify(w.vp(vp)).credentials
    assert cred.claims["totals"] == {"outstanding": 50000}
    assert "cases" not in cred.claims


def test_di_declaration_without_declaration_id_is_refused(w: World) -> None:
    doc = di_issue(w, lambda d: d.pop("declaration_id"))
    vp = present_di(
        doc, [["credentialSubject", "subject", "family_name"]], holder_key=w.holder,
        nonce=NONCE, audience=AUD, now=NOW,
    )  # fmt: skip
    e = refused(lambda: w.verify(w.vp(vp)), "claims_invalid")
    assert "declaration_id" in e.message


def test_wallet_refuses_a_statement_without_its_essential_claims(w: World, wallet: Wallet) -> None:
    token = w.issue_raw(_invented_statement(w), org=w.cjib, holder=wallet.holder_key())
    refused(lambda: wallet.add(token, trust_list=w.trust, now=NOW), "claims_invalid")
