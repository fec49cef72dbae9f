"""Issue 15, X.509 part: an issuer with an HTTPS ``iss`` and a certificate chain from the
scheme CA signs SD-JWT VCs and status list tokens with ``x5c``; verifier and wallet accept
them through the chain to the pinned root, and refuse a key outside the chain, a chain to
another root, a leaf that does not name ``iss`` and a revoked certificate (specs/x509.md).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from blauweknop import (
    Issuer,
    Key,
    MalformedError,
    SignatureError,
    StatusCache,
    StatusError,
    TrustError,
    TrustList,
    Verifier,
    Wallet,
    build_trust_list,
)
from blauweknop._jws import parse_compact
from blauweknop._sdjwt import SDJWT
from blauweknop._sdjwt_vc import issue_sd_jwt_vc
from blauweknop._x509 import CertificateAuthority, CertifiedSigner, encode_x5c, x509_hash
from blauweknop.debt import DebtStatement

NOW = 1_795_000_000.0  # 2026-11-18, inside the example statement's validity
ISS = "https://cjib.example"
OIN = "00000001003214345000"
NONCE, AUD = "x509-nonce-1", "urn:oin:00000001800866472000"
DATA = Path(__file__).resolve().parents[2] / "examples" / "data"
CLAIMS = json.loads((DATA / "debt-statement.json").read_text())


@dataclasses.dataclass
class World:
    root: CertificateAuthority
    anchor: Key
    issuer: Issuer
    trust_jwt: str
    holder: Key
    tmp: Path

    def trust(self, roots: Any = None, **kw: Any) -> TrustList:
        pinned = [self.root.certificate] if roots is None else roots
        return TrustList.verify(
            self.trust_jwt, self.anchor.public(), now=NOW, x509_roots=pinned, **kw
        )

    def issue(self) -> str:
        model = DebtStatement.from_claims(CLAIMS)
        return self.issuer.issue(model, holder_jwk=self.holder.public_jwk(), now=int(NOW)).text

    def present(self, text: str) -> str:
        return SDJWT.parse(text).present(
            None, holder_key=self.holder, nonce=NONCE, audience=AUD, iat=int(NOW)
        )

    def cache(self, trust: TrustList, name: str = "cache") -> StatusCache:
        cache = StatusCache(self.tmp / name, trust_list=trust)
        for f in self.issuer.publish_status(self.tmp / f"published-{name}", now=NOW):
            cache.import_file(f, fetched_at=NOW)
        return cache


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    root = CertificateAuthority.create("Blauwe Knop Scheme Root", now=NOW - 86400)
    sub = root.intermediate("Blauwe Knop Issuing CA", now=NOW - 86400)
    issuer = Issuer.init(
        tmp_path / "cjib",
        issuer_id=ISS,
        name="CJIB",
        roles=["creditor"],
        status_base_uri="https://status.cjib.example/bk",
        extra={"oin": OIN},
    )
    leaf = sub.issue("CJIB", issuer.signer.public(), uris=[ISS], now=NOW - 86400)  # type: ignore[attr-defined]
    issuer.install_certificate([leaf, sub.certificate])
    anchor = Key.generate()
    trust_jwt = build_trust_list([issuer.trust_entry()], anchor, now=NOW)
    yield World(root, anchor, issuer, trust_jwt, Key.generate(), tmp_path)


def _header(text: str) -> dict[str, Any]:
    return parse_compact(text.split("~")[0], allow_x5c=True).header


# -- done when ------------------------------------------------------------------------------------
def test_sd_jwt_vc_with_x5c_and_https_iss_verifies_through_the_chain(world: World) -> None:
    text = world.issue()
    header = _header(text)
    assert header["x5c"] == encode_x5c(
        [world.issuer.signer.leaf, *world.issuer.signer.certificates[1:]]  # type: ignore[attr-defined]
    )
    assert len(header["x5c"]) == 2  # leaf + intermediate, the root is not sent
    trust = world.trust()
    verifier = Verifier(trust, status=world.cache(trust))
    out = verifier.verify_presentation(world.present(text), nonce=NONCE, audience=AUD, now=NOW)
    assert out.issuer == ISS
    assert out.status == "valid"
    assert out.claims["creditor"]["oin"] == OIN


def test_status_list_token_carries_x5c_and_is_checked(world: World, tmp_path: Path) -> None:
    world.issue()
    files = world.issuer.publish_status(tmp_path / "pub", now=NOW)
    token = files[0].read_text()
    assert "x5c" in _header(token)
    # A cache whose trust list pins another root refuses the list at the door.
    other = CertificateAuthority.create("Other Root", now=NOW - 86400)
    cache = StatusCache(tmp_path / "c2", trust_list=world.trust(roots=[other.certificate]))
    with pytest.raises(StatusError) as e:
        cache.import_file(files[0], fetched_at=NOW)
    assert e.value.code == "status_invalid" and "x5c_untrusted_root" in e.value.message
    # Without pinned roots an x5c status list is refused too (never checked by kid alone).
    bare = StatusCache(tmp_path / "c3", trust_list=world.trust(roots=[]))
    with pytest.raises(StatusError) as e:
        bare.import_file(files[0], fetched_at=NOW)
    assert e.value.code == "status_invalid"


def test_the_verifier_parameter_pins_roots(world: World) -> None:
    text = world.issue()
    trust = world.trust(roots=[])
    verifier = Verifier(trust, x509_roots=[world.root.certificate], allow_missing_status=True)
    out = verifier.verify_presentation(world.present(text), nonce=NONCE, audience=AUD, now=NOW)
    assert out.issuer == ISS


def test_wallet_imports_through_the_chain(world: World, tmp_path: Path) -> None:
    with Wallet.create(tmp_path / "w", passphrase="x509 wallet", scrypt_n=2**10) as wallet:
        holder_jwk = wallet.holder_jwk()
        model = DebtStatement.from_claims(CLAIMS)
        text = world.issuer.issue(model, holder_jwk=holder_jwk, now=int(NOW)).text
        with pytest.raises(TrustError) as e:
            other = CertificateAuthority.create("Other Root", now=NOW - 86400)
            wallet.add(text, trust_list=world.trust(roots=[other.certificate]), now=NOW)
        assert e.value.code == "x5c_untrusted_root"
        assert wallet.credentials(now=NOW) == []  # the refusal stored nothing
        wallet.add(text, trust_list=world.trust(), now=NOW)
        [stored] = wallet.credentials(now=NOW)
        assert stored.issuer == ISS


# -- refused --------------------------------------------------------------------------------------
class _Impostor:
    """Signs with its own key but shows somebody else's certificate chain."""

    def __init__(self, key: Key, x5c: list[str]) -> None:
        self.key, self.x5c = key, x5c
        self.alg, self.kid = key.alg, key.kid

    def public_jwk(self) -> dict[str, str]:
        return self.key.public_jwk()

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data)


def _issue_with(world: World, signer: Any, iss: str = ISS) -> str:
    """An SD-JWT VC signed by ``signer`` directly (bypassing the issuer recipe's checks)."""
    model = DebtStatement.from_claims(CLAIMS)
    return issue_sd_jwt_vc(
        model.profile(),
        model.to_claims(),
        issuer_id=iss,
        signer=signer,
        holder_jwk=world.holder.public_jwk(with_kid=False),
        iat=int(NOW),
        exp=int(NOW) + 86400,
    )


def test_key_outside_the_chain_is_refused(world: World) -> None:
    chain = list(world.issuer.signer.x5c)  # type: ignore[attr-defined]
    text = _issue_with(world, _Impostor(Key.generate(), chain))
    verifier = Verifier(world.trust(), allow_missing_status=True)
    with pytest.raises(SignatureError) as e:
        verifier.verify_presentation(world.present(text), nonce=NONCE, audience=AUD, now=NOW)
    assert e.value.code == "signature_invalid"


def test_chain_to_another_root_is_refused(world: World) -> None:
    evil_root = CertificateAuthority.create("Blauwe Knop Scheme Root", now=NOW - 86400)
    evil_key = Key.generate()
    leaf = evil_root.issue("CJIB", evil_key, uris=[ISS], now=NOW - 86400)
    text = _issue_with(world, CertifiedSigner(evil_key, [leaf]))
    verifier = Verifier(world.trust(), allow_missing_status=True)
    with pytest.raises(TrustError) as e:
        verifier.verify_presentation(world.present(text), nonce=NONCE, audience=AUD, now=NOW)
    assert e.value.code == "x5c_untrusted_root"


def test_leaf_naming_another_issuer_is_refused(world: World) -> None:
    # A genuine certificate of the scheme CA, but for DUO: it may not sign as CJIB.
    duo_key = Key.generate()
    leaf = world.root.issue("DUO", duo_key, uris=["https://duo.example"], now=NOW - 86400)
    text = _issue_with(world, CertifiedSigner(duo_key, [leaf]))
    verifier = Verifier(world.trust(), allow_missing_status=True)
    with pytest.raises(TrustError) as e:
        verifier.verify_presentation(world.present(text), nonce=NONCE, audience=AUD, now=NOW)
    assert e.value.code == "x5c_name_mismatch"


def test_certificate_revoked_by_the_trust_list(world: World) -> None:
    text = world.issue()
    leaf = world.issuer.signer.leaf  # type: ignore[attr-defined]
    for revoked in (leaf, world.issuer.signer.certificates[1]):  # type: ignore[attr-defined]
        jwt = build_trust_list(
            [world.issuer.trust_entry()], world.anchor, now=NOW, x509_revoked=[x509_hash(revoked)]
        )
        trust = TrustList.verify(
            jwt, world.anchor.public(), now=NOW, x509_roots=[world.root.certificate]
        )
        assert trust.x509_revoked == {x509_hash(revoked)}
        verifier = Verifier(trust, allow_missing_status=True)
        with pytest.raises(TrustError) as e:
            verifier.verify_presentation(world.present(text), nonce=NONCE, audience=AUD, now=NOW)
        assert e.value.code == "x5c_revoked"


def test_x5c_without_pinned_roots_is_refused(world: World) -> None:
    text = world.issue()
    verifier = Verifier(world.trust(roots=[]), allow_missing_status=True)
    with pytest.raises(SignatureError) as e:
        verifier.verify_presentation(world.present(text), nonce=NONCE, audience=AUD, now=NOW)
    assert e.value.code == "header_not_allowed"


def test_organisation_must_still_be_listed(world: World) -> None:
    # A valid chain for an https iss the trust list does not know.
    key = Key.generate()
    leaf = world.root.issue("Nobody", key, uris=["https://nobody.example"], now=NOW - 86400)
    text = _issue_with(world, CertifiedSigner(key, [leaf]), iss="https://nobody.example")
    verifier = Verifier(world.trust(), allow_missing_status=True)
    with pytest.raises(TrustError) as e:
        verifier.verify_presentation(world.present(text), nonce=NONCE, audience=AUD, now=NOW)
    assert e.value.code == "untrusted_issuer"


def test_install_certificate_checks_key_and_name(world: World) -> None:
    other = Key.generate()
    wrong_key = world.root.issue("CJIB", other, uris=[ISS], now=NOW - 86400)
    with pytest.raises(MalformedError) as e:
        world.issuer.install_certificate([wrong_key])
    assert e.value.code == "ca_key_invalid"
    base = world.issuer.signer.inner  # type: ignore[attr-defined]
    wrong_name = world.root.issue("CJIB", base, uris=["https://duo.example"], now=NOW - 86400)
    with pytest.raises(TrustError) as e2:
        world.issuer.install_certificate([wrong_name])
    assert e2.value.code == "x5c_name_mismatch"


def test_rotation_drops_the_old_chain(world: World) -> None:
    world.issuer.rotate_key()
    text = world.issue()
    assert "x5c" not in _header(text)
    reopened = Issuer.open(world.issuer.home)
    assert not isinstance(reopened.signer, CertifiedSigner)


def test_trust_list_x509_revoked_must_be_thumbprints(world: World) -> None:
    with pytest.raises(MalformedError) as e:
        build_trust_list([world.issuer.trust_entry()], world.anchor, now=NOW, x509_revoked=["x"])
    assert e.value.code == "trust_list_invalid"


# -- the small pieces around it -------------------------------------------------------------------
def test_sign_compact_puts_the_chain_in_the_header_and_parse_refuses_it_by_default(
    world: World,
) -> None:
    from blauweknop._jws import sign_compact

    signer = world.issuer.signer
    token = sign_compact({"typ": "JWT"}, b"{}", signer)
    with pytest.raises(SignatureError) as e:
        parse_compact(token)
    assert e.value.code == "header_not_allowed"
    parsed = parse_compact(token, allow_x5c=True)
    assert parsed.header["x5c"] == list(signer.x5c)  # type: ignore[attr-defined]
    parsed.verify(signer.inner)  # type: ignore[attr-defined]
    # Other key-selecting headers stay refused even with allow_x5c.
    bad = sign_compact({"typ": "JWT", "x5u": "https://a.example"}, b"{}", signer)
    with pytest.raises(SignatureError):
        parse_compact(bad, allow_x5c=True)


@pytest.mark.parametrize(
    ("entry_id", "oin", "ok"),
    [
        (ISS, OIN, True),
        (ISS, "123", False),
        (ISS, 12345678901234567890, False),
        ("urn:oin:" + OIN, OIN, True),
        ("urn:oin:" + OIN, "00000001800866472000", False),
    ],
)
def test_trust_entry_oin(entry_id: str, oin: Any, ok: bool) -> None:
    from blauweknop._trust import parse_entry

    entry = {
        "id": entry_id,
        "name": "CJIB",
        "roles": ["creditor"],
        "jwks": {"keys": [Key.generate().public_jwk()]},
        "oin": oin,
    }
    if ok:
        assert parse_entry(entry).oin == OIN
    else:
        with pytest.raises(MalformedError) as e:
            parse_entry(entry)
        assert e.value.code == "trust_entry_invalid"


@pytest.mark.parametrize("value", ["abc", ["short"], [1], {"a": 1}, [None]])
def test_a_received_trust_list_with_a_bad_x509_revoked_is_invalid(world: World, value: Any) -> None:
    from blauweknop._jws import sign_compact

    payload = {
        "iss": "urn:blauweknop:scheme-authority",
        "iat": int(NOW),
        "exp": int(NOW) + 86400,
        "organisations": [world.issuer.trust_entry()],
        "x509_revoked": value,
    }
    token = sign_compact(
        {"typ": "trust-list+jwt", "kid": world.anchor.kid},
        json.dumps(payload).encode(),
        world.anchor,
    )
    with pytest.raises(TrustError) as e:
        TrustList.verify(token, world.anchor.public(), now=NOW)
    assert e.value.code == "trust_list_invalid"


def test_https_issuer_without_oin_cannot_issue_a_debt_statement(tmp_path: Path) -> None:
    issuer = Issuer.init(tmp_path / "x", issuer_id=ISS, name="CJIB", roles=["creditor"])
    with pytest.raises(TrustError) as e:
        issuer.issue(DebtStatement.from_claims(CLAIMS), holder_jwk=Key.generate().public_jwk())
    assert e.value.code == "issuer_mismatch"
