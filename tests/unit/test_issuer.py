"""The issuer recipe: home directory, keys, register, issuance rules."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest
from scheme import GEMEENTE_EINDHOVEN

from blauweknop import (
    InvalidDataError,
    Issuer,
    Key,
    SignatureError,
    StorageError,
    TrustError,
    TrustList,
    Verifier,
    Wallet,
    build_trust_list,
    verify_sd_jwt,
)
from blauweknop._profile import DEBT_STATEMENT_VCT, get_profile
from blauweknop._sdjwt_vc import issue_sd_jwt_vc
from blauweknop.debt import DebtStatement
from rodeknop_vc import PaymentIncapacityDeclaration

ROOT = Path(__file__).resolve().parents[2]
DEBT = json.loads((ROOT / "examples/data/debt-statement.json").read_text())
DECL = json.loads((ROOT / "examples/data/rode-knop-declaration.json").read_text())
NOW = dt.datetime(2026, 11, 28, tzinfo=dt.UTC).timestamp()
CJIB = "urn:oin:00000001003214345000"


def make(tmp_path: Path, name: str = "cjib", **kw: Any) -> Issuer:
    args: dict[str, Any] = {
        "issuer_id": CJIB,
        "name": "CJIB",
        "roles": ["creditor"],
        "status_base_uri": "https://status.example/cjib",
    }
    args.update(kw)
    return Issuer.init(tmp_path / name, **args)


def test_init_writes_home_and_refuses_to_overwrite(tmp_path: Path) -> None:
    iss = make(tmp_path)
    home = tmp_path / "cjib"
    entry = json.loads((home / "trust-entry.json").read_text())
    assert entry["id"] == CJIB and entry["roles"] == ["creditor"]
    assert all("d" not in k for k in entry["jwks"]["keys"])
    key_file = home / "keys" / f"{iss.signer.kid}.jwk"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert (home / "register.secret").stat().st_mode & 0o777 == 0o600
    with pytest.raises(StorageError) as e:
        make(tmp_path)
    assert e.value.code == "home_exists"
    assert Key.load(key_file) == iss.signer  # the key survived the refused init


def test_open_refuses_world_readable_key(tmp_path: Path) -> None:
    iss = make(tmp_path)
    key_file = tmp_path / "cjib" / "keys" / f"{iss.signer.kid}.jwk"
    os.chmod(key_file, 0o644)
    with pytest.raises(StorageError) as e:
        Issuer.open(tmp_path / "cjib")
    assert e.value.code == "key_file_permissions"


def test_open_missing_home(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as e:
        Issuer.open(tmp_path / "nothing")
    assert e.value.code == "home_not_found"


@pytest.mark.parametrize(
    ("kw", "fragment"),
    [
        ({"issuer_id": "CJIB"}, "urn:oin"),
        ({"roles": ["emperor"]}, "role"),
        ({"status_base_uri": "http://status.example"}, "https"),
    ],
)
def test_init_validates(tmp_path: Path, kw: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidDataError) as e:
        make(tmp_path, **kw)
    assert fragment in e.value.message
    assert not (tmp_path / "cjib" / "config.json").exists()


def test_issue_refusals(tmp_path: Path) -> None:
    iss = make(tmp_path)
    holder = Key.generate()
    with pytest.raises(InvalidDataError) as e:
        iss.issue(DebtStatement.from_claims(DEBT), holder_jwk=holder.private_jwk(), now=NOW)
    assert e.value.field == "holder_key"
    with pytest.raises(TrustError) as te:
        iss.issue(
            PaymentIncapacityDeclaration.from_claims(DECL), holder_jwk=holder.public_jwk(), now=NOW
        )
    assert te.value.code == "untrusted_issuer"
    st = DebtStatement.from_claims(DEBT)
    iss.issue(st, holder_jwk=holder.public_jwk(), now=NOW)
    with pytest.raises(Exception) as dup:
        iss.issue(st, holder_jwk=holder.public_jwk(), now=NOW)
    assert getattr(dup.value, "code", None) == "credential_exists"


@pytest.mark.parametrize("claim", ["iss", "exp", "cnf", "vct", "status", "nbf", "iat"])
def test_technical_claims_in_data_refused(claim: str) -> None:
    k = Key.generate()
    with pytest.raises(InvalidDataError) as e:
        issue_sd_jwt_vc(
            get_profile(DEBT_STATEMENT_VCT),
            {**DEBT, claim: 1},
            issuer_id=CJIB,
            signer=k,
            holder_jwk=k.public_jwk(),
            iat=1,
            exp=2,
        )
    assert e.value.field == claim


def test_issued_sd_jwt_vc_shape(tmp_path: Path) -> None:
    iss = make(tmp_path)
    holder = Key.generate()
    cred = iss.issue(DebtStatement.from_claims(DEBT), holder_jwk=holder.public_jwk(), now=NOW)
    res = verify_sd_jwt(cred.text, issuer_key=iss.signer.public(), typ="dc+sd-jwt", now=NOW)
    c = res.claims
    assert c["iss"] == CJIB and c["vct"] == DEBT_STATEMENT_VCT
    assert c["exp"] - c["iat"] == 30 * 86400
    assert c["cnf"]["jwk"]["x"] == holder.public_jwk()["x"]
    assert c["status"]["status_list"]["uri"].startswith("https://status.example/cjib/")
    assert res.header["typ"] == "dc+sd-jwt" and res.header["kid"] == iss.signer.kid
    assert ("subject", "bsn") in res.disclosed and ("creditor", "name") not in res.disclosed
    assert {k: v for k, v in c.items() if k in DEBT} == DEBT


def test_declaration_validity_window(tmp_path: Path) -> None:
    gem = GEMEENTE_EINDHOVEN.init(tmp_path / "gem")  # the municipality the declaration names
    cred = gem.issue(
        PaymentIncapacityDeclaration.from_claims(DECL),
        holder_jwk=Key.generate().public_jwk(),
        now=NOW,
    )
    c = verify_sd_jwt(cred.text, issuer_key=gem.signer.public(), now=NOW).claims
    # nbf = start of valid_from, exp = end of valid_until, Dutch time
    cet = dt.timezone(dt.timedelta(hours=1))
    assert c["nbf"] == dt.datetime(2026, 11, 16, tzinfo=cet).timestamp()
    assert c["exp"] == dt.datetime(2027, 3, 16, tzinfo=cet).timestamp()
    past = {
        **DECL,
        "valid_from": "2026-01-01",
        "valid_until": "2026-03-01",
        "trajectory_start": "2026-01-01",
    }
    with pytest.raises(InvalidDataError) as e:
        gem.issue(
            PaymentIncapacityDeclaration.from_claims(past),
            holder_jwk=Key.generate().public_jwk(),
            now=NOW,
        )
    assert e.value.field == "valid_until"


def test_bsn_never_stored_in_clear(tmp_path: Path) -> None:
    iss = make(tmp_path)
    iss.issue(DebtStatement.from_claims(DEBT), holder_jwk=Key.generate().public_jwk(), now=NOW)
    iss.register.close()
    for f in (tmp_path / "cjib").rglob("*"):
        if f.is_file():
            assert b"999999990" not in f.read_bytes(), f


def test_rotation_keeps_old_credentials_verifiable(tmp_path: Path) -> None:
    iss = make(tmp_path)
    wallet = Wallet.create(tmp_path / "w", passphrase="issuer tests (fictional)", scrypt_n=2**10)
    old = iss.issue(DebtStatement.from_claims(DEBT), holder_jwk=wallet.holder_jwk(), now=NOW)
    old_kid = iss.signer.kid
    new_key = iss.rotate_key()
    assert new_key.kid != old_kid
    entry = json.loads((tmp_path / "cjib" / "trust-entry.json").read_text())
    assert {k["kid"] for k in entry["jwks"]["keys"]} == {old_kid, new_key.kid}
    reopened = Issuer.open(tmp_path / "cjib")
    assert reopened.signer.kid == new_key.kid
    anchor = Key.generate()
    tl = TrustList.verify(build_trust_list([entry], anchor, now=NOW), anchor.public(), now=NOW)
    st2 = DebtStatement.from_claims({**DEBT, "statement_id": "CJIB-2026-000124"})
    new = reopened.issue(st2, holder_jwk=wallet.holder_jwk(), now=NOW)
    for c in (old, new):
        assert wallet.add(c.text, trust_list=tl, now=NOW).credential.issuer == CJIB
    vp = wallet.present(
        {
            "credentials": [
                {
                    "id": "d",
                    "format": "dc+sd-jwt",
                    "multiple": True,
                    "meta": {"vct_values": [DEBT_STATEMENT_VCT]},
                    "claims": [{"path": ["totals", "outstanding"]}],
                }
            ]
        },
        nonce="n",
        audience="urn:x",
        now=NOW,
    )
    res = Verifier(tl, allow_missing_status=True).verify(vp, nonce="n", audience="urn:x", now=NOW)
    assert len(res.credentials) >= 1


class CountingSigner:
    """A stand-in for an HSM: signs through the Signer protocol, never exposes the key."""

    def __init__(self) -> None:
        self._key = Key.generate()
        self.calls = 0

    @property
    def alg(self) -> str:
        return "ES256"

    @property
    def kid(self) -> str:
        return self._key.kid

    def public_jwk(self) -> dict[str, str]:
        return self._key.public_jwk()

    def sign(self, data: bytes) -> bytes:
        self.calls += 1
        return self._key.sign(data)


def test_external_signer(tmp_path: Path) -> None:
    hsm = CountingSigner()
    make(tmp_path)
    iss = Issuer.open(tmp_path / "cjib", signer=hsm)
    cred = iss.issue(
        DebtStatement.from_claims(DEBT), holder_jwk=Key.generate().public_jwk(), now=NOW
    )
    assert hsm.calls == 1
    verify_sd_jwt(cred.text, issuer_key=Key.from_jwk(hsm.public_jwk()), now=NOW)


def test_eddsa_issuer_cannot_issue_ecdsa_sd(tmp_path: Path) -> None:
    iss = make(tmp_path, alg="EdDSA")
    with pytest.raises(SignatureError) as e:
        iss.issue(
            DebtStatement.from_claims(DEBT),
            holder_jwk=Key.generate().public_jwk(),
            format="di",
            now=NOW,
        )
    assert e.value.code == "algorithm_not_allowed"
    # Reserve, sign and confirm are one transaction (issue 18): the failed signing rolled it
    # back, so no record is left (nothing carrying the index ever left the issuer).
    assert [r.state for r in iss.register.list()] == []
    assert iss.register.register_seq == 0


# -- one spreadsheet-formula rule for every issued text claim (issue 12.15) ------------------
@pytest.mark.parametrize(
    "value", ["=1+1", "+cmd", "-1+1", "@SUM(A1)", "\tx", "\rx", "+31 40 x", "=HYPERLINK(1)"]
)
def test_formula_text_is_refused_anywhere_in_the_claims(value: str) -> None:
    from blauweknop._issuer import check_spreadsheet_safe

    with pytest.raises(InvalidDataError) as e:
        check_spreadsheet_safe({"a": [{"b": "ok"}, {"c": value}]})
    assert e.value.field == "a[1].c"


@pytest.mark.parametrize("value", ["+31 40 238 6000", "-5", "12,50", "Jansen", "a=b", ""])
def test_harmless_text_passes(value: str) -> None:
    from blauweknop._issuer import check_spreadsheet_safe

    check_spreadsheet_safe({"a": value, "n": -5, "t": True})


def test_check_issuable_runs_the_issue_checks_without_reserving(tmp_path: Path) -> None:
    gem = Issuer.init(
        tmp_path / "gem",
        issuer_id="urn:oin:00000001001234567000",
        name="Gemeente Eindhoven",  # as named in the declaration
        roles=["municipality"],
        status_base_uri="https://status.example/gem",
    )
    decl = PaymentIncapacityDeclaration.from_claims(DECL)
    holder = Key.generate()
    gem.check_issuable(decl, holder_jwk=holder.public_jwk(), now=NOW)
    late = dt.datetime(2027, 3, 17, tzinfo=dt.UTC).timestamp()  # after valid_until
    with pytest.raises(InvalidDataError) as e:
        gem.check_issuable(decl, holder_jwk=holder.public_jwk(), now=late)
    assert e.value.field == "valid_until"
    with pytest.raises(InvalidDataError) as e:
        gem.check_issuable(decl, holder_jwk=holder.private_jwk(), now=NOW)
    assert e.value.field == "holder_key"
    with pytest.raises(InvalidDataError):
        gem.check_issuable(decl, holder_jwk=holder.public_jwk(), format="x", now=NOW)
    assert gem.register.list() == []
