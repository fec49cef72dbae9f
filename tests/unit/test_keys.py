"""Keys (blauweknop._keys): JWK import, thumbprints, did:jwk, key files, redaction.

Known answers: RFC 6979 A.2.5 (P-256, SHA-256, "sample"), RFC 8032 section 7.1 test 1
(Ed25519), the did:jwk method specification's P-256 example. RFC 7638's own example is an
RSA key (not supported here), so thumbprints are cross-checked with jwcrypto's
``JWK.thumbprint()`` and with a hand-built RFC 7638 input.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from jwcrypto import jwk as jwcrypto_jwk

from blauweknop._errors import MalformedError, SignatureError, StorageError
from blauweknop._keys import Key, Signer, did_jwk, key_from_did_jwk

RFC6979_D = "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721"
RFC6979_SIG = (
    "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
    "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8"
)
RFC6979_UX = "60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
RFC8032_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
RFC8032_PUB = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
RFC8032_SIG = (
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)
DID_JWK_P256 = (
    "did:jwk:eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6ImFjYklRaXVNczNpOF91c3pFakoydHBUdFJNNEVV"
    "M3l6OTFQSDZDZEgyVjAiLCJ5IjoiX0tjeUxqOXZXTXB0bm1LdG00NkdxRHo4d2Y3NEk1TEtncmwyR3pIM25TRSJ9"
)
ALGS = ["ES256", "ES384", "EdDSA"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ------------------------------------------------------------------------------------------
# Known answers
# ------------------------------------------------------------------------------------------
def test_rfc6979_deterministic_p256() -> None:
    key = Key.from_private_bytes("P-256", bytes.fromhex(RFC6979_D))
    assert base64.urlsafe_b64decode(key.public_jwk()["x"] + "=") == bytes.fromhex(RFC6979_UX)
    assert key.sign(b"sample", deterministic=True) == bytes.fromhex(RFC6979_SIG)
    key.public().verify(b"sample", bytes.fromhex(RFC6979_SIG))


def test_rfc8032_ed25519() -> None:
    key = Key.from_private_bytes("Ed25519", bytes.fromhex(RFC8032_SEED))
    assert key.public_bytes() == bytes.fromhex(RFC8032_PUB)
    assert key.sign(b"") == bytes.fromhex(RFC8032_SIG)
    Key.from_public_bytes("Ed25519", bytes.fromhex(RFC8032_PUB)).verify(
        b"", bytes.fromhex(RFC8032_SIG)
    )


@pytest.mark.parametrize("alg", ALGS)
def test_generate_sign_verify(alg: str) -> None:
    key = Key.generate(alg)
    assert key.alg == alg and key.has_private and isinstance(key, Signer)
    sig = key.sign(b"m")
    assert len(sig) == {"ES256": 64, "ES384": 96, "EdDSA": 64}[alg]
    key.public().verify(b"m", sig)
    with pytest.raises(SignatureError) as err:
        key.public().verify(b"n", sig)
    assert err.value.code == "signature_invalid"


@pytest.mark.parametrize("alg", ["RS256", "HS256", "ES512", "none", "ES256K"])
def test_generate_refuses_other_algorithms(alg: str) -> None:
    with pytest.raises(SignatureError) as err:
        Key.generate(alg)
    assert err.value.code == "algorithm_not_allowed"


@pytest.mark.parametrize("sig_len", [0, 63, 65, 70, 72, 128])
def test_ecdsa_signature_must_be_raw_and_exact(sig_len: int) -> None:
    key = Key.generate("ES256")
    sig = key.sign(b"m")
    bad = (sig * 3)[:sig_len]
    with pytest.raises(SignatureError) as err:
        key.verify(b"m", bad)
    assert err.value.code == "signature_invalid"


def test_ecdsa_zero_and_out_of_range_scalars() -> None:
    key = Key.generate("ES256")
    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    r = int.from_bytes(key.sign(b"m")[:32], "big")
    for rr, ss in ((0, 0), (0, 1), (1, 0), (n, 1), (r, n), (2**256 - 1, 2**256 - 1)):
        with pytest.raises(SignatureError) as err:
            key.verify(b"m", rr.to_bytes(32, "big") + ss.to_bytes(32, "big"))
        assert err.value.code == "signature_invalid"


# ------------------------------------------------------------------------------------------
# JWK import
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("alg", ALGS)
def test_jwk_with_extra_members_imports(alg: str) -> None:
    key = Key.generate(alg)
    jwk = {
        **key.public_jwk(),
        "kid": "some-other-tool's-kid",
        "use": "sig",
        "key_ops": ["verify"],
        "ext": True,
        "x5t#S256": "ignored-member",
    }
    imported = Key.from_jwk(jwk)
    assert imported == key.public()
    assert not imported.has_private
    assert imported.kid == key.kid  # our kid is the thumbprint, not the member
    private = Key.from_jwk({**key.private_jwk(), "key_ops": ["sign"], "use": "sig", "ext": False})
    assert private.has_private and private.sign(b"x") and private == key


def test_ed25519_jwk_alg_spellings() -> None:
    key = Key.generate("EdDSA")
    for alg in ("EdDSA", "Ed25519"):
        assert Key.from_jwk({**key.public_jwk(), "alg": alg}) == key


@pytest.mark.parametrize(
    ("alg", "bad_alg"),
    [
        ("ES256", "ES384"),
        ("ES256", "EdDSA"),
        ("ES256", "RS256"),
        ("ES384", "ES256"),
        ("EdDSA", "ES256"),
    ],
)
def test_jwk_alg_must_fit_the_key(alg: str, bad_alg: str) -> None:
    with pytest.raises(SignatureError) as err:
        Key.from_jwk({**Key.generate(alg).public_jwk(), "alg": bad_alg})
    assert err.value.code == "key_invalid"


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("use", "enc"),
        ("use", "SIG"),
        ("use", None),
        ("key_ops", ["encrypt"]),
        ("key_ops", ["wrapKey", "deriveKey"]),
        ("key_ops", []),
        ("key_ops", "verify"),
    ],
)
def test_jwk_for_other_purposes_is_refused(member: str, value: Any) -> None:
    with pytest.raises(SignatureError) as err:
        Key.from_jwk({**Key.generate().public_jwk(), member: value})
    assert err.value.code == "key_invalid"


def _bump(coord: str, delta: int = 1) -> str:
    raw = base64.urlsafe_b64decode(coord + "=")
    return b64(((int.from_bytes(raw, "big") + delta) % 2**256).to_bytes(32, "big"))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda j: {**j, "y": _bump(j["y"])},  # off the curve
        lambda j: {**j, "x": _bump(j["x"])},
        lambda j: {**j, "x": b64(b"\x00" * 32), "y": b64(b"\x00" * 32)},
        lambda j: {
            **j,
            "x": b64(bytes.fromhex("FFFFFFFF00000001" + "0" * 24 + "FFFFFFFFFFFFFFFFFFFFFFFF")),
        },
        lambda j: {**j, "x": b64(base64.urlsafe_b64decode(j["x"] + "=")[1:])},  # 31 bytes
        lambda j: {**j, "y": b64(b"\x00" + base64.urlsafe_b64decode(j["y"] + "="))},  # 33 bytes
        lambda j: {**j, "x": j["x"] + "="},  # padded
        lambda j: {**j, "x": j["x"][:-1] + "+"},  # standard-alphabet character
        lambda j: {k: v for k, v in j.items() if k != "y"},
        lambda j: {**j, "x": 12345},
        lambda j: {**j, "crv": "P-384"},  # 32-byte coordinates on P-384
        lambda j: {**j, "crv": "P-521"},
        lambda j: {**j, "crv": "secp256k1"},
        lambda j: {**j, "crv": ["P-256"]},
        lambda j: {**j, "kty": "RSA"},
        lambda j: {**j, "kty": "OKP"},
        lambda j: {**j, "d": b64(b"\x00" * 31 + b"\x01")},  # private part of another key
        lambda j: {**j, "d": b64(b"\x00" * 32)},
        lambda j: {**j, "d": b64(b"\xff" * 32)},  # d >= n
    ],
)
def test_bad_ec_jwk(mutate: Any) -> None:
    jwk = Key.generate("ES256").public_jwk(with_kid=False)
    with pytest.raises(SignatureError) as err:
        Key.from_jwk(mutate(jwk))
    assert err.value.code == "key_invalid"


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "oct", "k": "c2VjcmV0"},
        {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
        {"kty": "OKP", "crv": "X25519", "x": b64(b"\x09" + b"\x00" * 31)},
        {"kty": "OKP", "crv": "Ed448", "x": b64(b"\x00" * 57)},
        {"kty": "OKP", "crv": "Ed25519", "x": b64(b"\x00" * 31)},
        {"kty": "OKP", "crv": "Ed25519"},
        {"crv": "P-256"},
        {},
    ],
)
def test_unsupported_or_broken_jwk(jwk: dict[str, Any]) -> None:
    with pytest.raises(SignatureError) as err:
        Key.from_jwk(jwk)
    assert err.value.code == "key_invalid"


@pytest.mark.parametrize("value", [[], "{}", None, 42])
def test_jwk_not_an_object(value: Any) -> None:
    with pytest.raises(SignatureError) as err:
        Key.from_jwk(value)
    assert err.value.code == "key_invalid"


def test_ed25519_private_part_must_match() -> None:
    a, b = Key.generate("EdDSA"), Key.generate("EdDSA")
    with pytest.raises(SignatureError) as err:
        Key.from_jwk({**a.public_jwk(), "d": b.private_jwk()["d"]})
    assert err.value.code == "key_invalid"


def test_public_bytes_forms() -> None:
    key = Key.generate("ES256")
    for compressed in (True, False):
        assert Key.from_public_bytes("P-256", key.public_bytes(compressed=compressed)) == key
    with pytest.raises(SignatureError) as err:
        Key.from_public_bytes("P-256", b"\x04" + b"\x00" * 64)
    assert err.value.code == "key_invalid"
    with pytest.raises(SignatureError) as err:
        Key.from_public_bytes("P-521", key.public_bytes())
    assert err.value.code == "key_invalid"


# ------------------------------------------------------------------------------------------
# Thumbprint (RFC 7638) and did:jwk
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("alg", ALGS)
def test_thumbprint_matches_jwcrypto(alg: str) -> None:
    key = Key.generate(alg)
    assert key.kid == jwcrypto_jwk.JWK(**key.public_jwk(with_kid=False)).thumbprint()
    assert key.public_jwk()["kid"] == key.kid


def test_thumbprint_by_hand_for_a_fixed_key() -> None:
    key = Key.from_private_bytes("P-256", bytes.fromhex(RFC6979_D))
    j = key.public_jwk(with_kid=False)
    members = '{"crv":"P-256","kty":"EC","x":"' + j["x"] + '","y":"' + j["y"] + '"}'
    assert key.kid == b64(hashlib.sha256(members.encode()).digest())
    assert key.kid == "DOvxvJiAdIqVWIkFt5hDtCunXLF0BV4-JGv4f-ALSm0"
    # Extra members never change the thumbprint.
    assert Key.from_jwk({**j, "kid": "x", "use": "sig", "alg": "ES256"}).kid == key.kid


def test_did_jwk_spec_example() -> None:
    key = key_from_did_jwk(DID_JWK_P256)
    assert key.public_jwk(with_kid=False) == {
        "kty": "EC",
        "crv": "P-256",
        "x": "acbIQiuMs3i8_uszEjJ2tpTtRM4EU3yz91PH6CdH2V0",
        "y": "_KcyLj9vWMptnmKtm46GqDz8wf74I5LKgrl2GzH3nSE",
    }
    assert did_jwk(key) == DID_JWK_P256
    assert key_from_did_jwk(DID_JWK_P256 + "#0") == key


@pytest.mark.parametrize("alg", ALGS)
def test_did_jwk_round_trip(alg: str) -> None:
    key = Key.generate(alg)
    did = did_jwk(key)
    assert did.startswith("did:jwk:")
    back = key_from_did_jwk(did)
    assert back == key and not back.has_private
    body = json.loads(base64.urlsafe_b64decode(did[8:] + "=" * (-len(did[8:]) % 4)))
    assert "d" not in body and "kid" not in body


def test_did_jwk_refusals() -> None:
    key = Key.generate()
    with_private = "did:jwk:" + b64(json.dumps(key.private_jwk()).encode())
    for did, error, code in (
        ("did:key:z6Mk", SignatureError, "key_invalid"),
        (with_private, SignatureError, "key_invalid"),
        ("did:jwk:" + b64(b'{"kty":"oct","k":"AA"}'), SignatureError, "key_invalid"),
        (
            "did:jwk:" + b64(json.dumps(key.public_jwk()).encode()) + "=",
            MalformedError,
            "malformed_base64",
        ),
        ("did:jwk:" + b64(b"[]"), MalformedError, "malformed_json"),
    ):
        with pytest.raises(error) as err:
            key_from_did_jwk(did)
        assert err.value.code == code, did


# ------------------------------------------------------------------------------------------
# Key files and redaction
# ------------------------------------------------------------------------------------------
def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("alg", ALGS)
def test_private_key_file_is_0600_and_round_trips(tmp_path: Path, alg: str) -> None:
    key = Key.generate(alg)
    path = tmp_path / "issuer.jwk"
    key.save(path)
    assert _mode(path) == 0o600
    loaded = Key.load(path)
    assert loaded == key and loaded.has_private
    assert loaded.sign(b"x") and key.public().verify(b"x", loaded.sign(b"x")) is None


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o620, 0o660, 0o610, 0o601, 0o666, 0o777])
def test_private_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "issuer.jwk"
    Key.generate().save(path)
    os.chmod(path, mode)
    with pytest.raises(StorageError) as err:
        Key.load(path)
    assert err.value.code == "key_file_permissions"
    assert "chmod 600" in err.value.message
    assert json.loads(path.read_text())["d"]  # nothing was rewritten or regenerated


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700])
def test_private_key_file_owner_only_modes_load(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "issuer.jwk"
    key = Key.generate()
    key.save(path)
    os.chmod(path, mode)
    assert Key.load(path) == key


def test_public_key_file_may_be_world_readable(tmp_path: Path) -> None:
    key = Key.generate()
    path = tmp_path / "issuer.pub.jwk"
    key.public().save(path)
    assert _mode(path) == 0o644
    assert "d" not in json.loads(path.read_text())
    assert Key.load(path) == key


def test_save_never_overwrites_by_accident(tmp_path: Path) -> None:
    path = tmp_path / "issuer.jwk"
    first, second = Key.generate(), Key.generate()
    first.save(path)
    with pytest.raises(StorageError) as err:
        second.save(path)
    assert err.value.code == "file_exists"
    assert Key.load(path) == first
    second.save(path, overwrite=True)
    assert Key.load(path) == second and _mode(path) == 0o600


def test_missing_or_corrupt_key_file(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as err:
        Key.load(tmp_path / "absent.jwk")
    assert err.value.code == "key_file_unreadable"
    bad = tmp_path / "bad.jwk"
    bad.write_text('{"kty": "EC", "crv": "P-256", "x": "tr')
    os.chmod(bad, 0o600)
    with pytest.raises(MalformedError) as merr:
        Key.load(bad)
    assert merr.value.code == "malformed_json"
    assert not (tmp_path / "absent.jwk").exists()


@pytest.mark.parametrize("alg", ALGS)
def test_repr_redacts_private_material(alg: str) -> None:
    key = Key.generate(alg)
    d = key.private_jwk()["d"]
    raw = key.private_bytes()
    for text in (repr(key), str(key), f"{key!r}", f"{key}", repr([key]), repr({"k": key})):
        assert d not in text
        assert raw.hex() not in text and raw.hex().upper() not in text
        assert str(int.from_bytes(raw, "big")) not in text
        assert "private" in text and key.kid in text
    assert "public" in repr(key.public())
    assert "d" not in key.public_jwk()
    assert not hasattr(key, "__dict__")  # no stray attribute can carry the key around


def test_public_key_cannot_sign_or_export_private_parts() -> None:
    pub = Key.generate().public()
    for call in (lambda: pub.sign(b"x"), pub.private_jwk, pub.private_bytes):
        with pytest.raises(SignatureError) as err:
            call()
        assert err.value.code == "key_invalid"
