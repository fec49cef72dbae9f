"""Wycheproof signature vectors against our JOSE layer (``Key.verify``, ``Key.from_jwk``,
``parse_compact`` + ``ParsedJWS.verify``).

Source: C2SP/wycheproof @ dac1dd4, ``testvectors_v1/`` (see ``data/wycheproof/PROVENANCE.md``).

Expected results here:

* ECDSA P-256 with raw ``r||s`` (P1363, the JOSE form): ``valid`` verifies, ``invalid`` raises
  ``SignatureError("signature_invalid")``.
* ECDSA P-256 with DER signatures: *every* case raises ``signature_invalid``, because JOSE
  (RFC 7518 section 3.4) requires the raw form. The ``valid`` ones verify once converted to
  ``r||s``, which shows the refusal is about the encoding, not the key.
* Ed25519: ``valid`` verifies, ``invalid`` raises ``signature_invalid``.
* ``acceptable``: none of the copied files has such a case; a refresh that brings one fails
  :func:`test_no_acceptable_cases` until its outcome is decided and documented here.
* JWS/JWK cases: our allow-list is ES256 and EdDSA. A case verifies only if Wycheproof calls it
  ``valid`` *and* its algorithm and key are in that list; HS*, RS*, PS* and ES512 cases, valid
  or not, are refused (``algorithm_not_allowed``), and so are keys we cannot or must not use
  for signatures (``key_invalid``).
"""

from __future__ import annotations

import base64
import binascii
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from blauweknop._errors import BlauweKnopError, MalformedError, SignatureError
from blauweknop._jws import parse_compact
from blauweknop._keys import ALLOWED_JWS_ALGS, Key

DATA = Path(__file__).parent / "data" / "wycheproof"


@cache
def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data


def _cases(name: str) -> list[Any]:
    out = []
    for gi, group in enumerate(_load(name)["testGroups"]):
        for case in group["tests"]:
            flags = "-".join(case.get("flags", [])) or "noflag"
            out.append(pytest.param(gi, case, id=f"tc{case['tcId']}-{case['result']}-{flags}"))
    return out


def _group(name: str, gi: int) -> dict[str, Any]:
    group: dict[str, Any] = _load(name)["testGroups"][gi]
    return group


def _expect(case: dict[str, Any], verify: Any) -> None:
    if case["result"] == "valid":
        verify()
    elif case["result"] == "invalid":
        with pytest.raises(SignatureError) as err:
            verify()
        assert err.value.code == "signature_invalid"
    else:  # pragma: no cover - see test_no_acceptable_cases
        pytest.fail(f"acceptable case {case['tcId']}: decide and document the outcome")


def test_no_acceptable_cases() -> None:
    files = [p.name for p in DATA.glob("*.json")]
    assert len(files) == 5
    for name in files:
        results = {c["result"] for g in _load(name)["testGroups"] for c in g["tests"]}
        assert results <= {"valid", "invalid"}, (name, results)


def test_case_counts_match_the_headers() -> None:
    for name in (
        "ecdsa_secp256r1_sha256_p1363_test.json",
        "ecdsa_secp256r1_sha256_test.json",
        "ed25519_test.json",
        "json_web_signature_test.json",
        "json_web_key_test.json",
    ):
        data = _load(name)
        assert sum(len(g["tests"]) for g in data["testGroups"]) == data["numberOfTests"]


# ------------------------------------------------------------------------------------------
# ECDSA P-256 / SHA-256
# ------------------------------------------------------------------------------------------
P1363 = "ecdsa_secp256r1_sha256_p1363_test.json"
DER = "ecdsa_secp256r1_sha256_test.json"
ED25519 = "ed25519_test.json"


@cache
def _ec_key(name: str, gi: int) -> Key:
    group = _group(name, gi)
    key = Key.from_public_bytes("P-256", bytes.fromhex(group["publicKey"]["uncompressed"]))
    if "publicKeyJwk" in group:  # the JWK form of the same key imports to the same key
        assert Key.from_jwk(group["publicKeyJwk"]) == key
    return key


@pytest.mark.parametrize(("gi", "case"), _cases(P1363))
def test_ecdsa_p1363(gi: int, case: dict[str, Any]) -> None:
    key = _ec_key(P1363, gi)
    msg, sig = bytes.fromhex(case["msg"]), bytes.fromhex(case["sig"])
    _expect(case, lambda: key.verify(msg, sig))


@pytest.mark.parametrize(("gi", "case"), _cases(DER))
def test_ecdsa_der_is_always_refused(gi: int, case: dict[str, Any]) -> None:
    key = _ec_key(DER, gi)
    msg, sig = bytes.fromhex(case["msg"]), bytes.fromhex(case["sig"])
    with pytest.raises(SignatureError) as err:
        key.verify(msg, sig)
    assert err.value.code == "signature_invalid"
    if case["result"] == "valid":
        r, s = decode_dss_signature(sig)
        key.verify(msg, r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def test_der_file_has_valid_cases_to_convert() -> None:
    results = [c["result"] for g in _load(DER)["testGroups"] for c in g["tests"]]
    assert results.count("valid") > 100


# ------------------------------------------------------------------------------------------
# Ed25519
# ------------------------------------------------------------------------------------------
@cache
def _ed_key(gi: int) -> Key:
    group = _group(ED25519, gi)
    key = Key.from_public_bytes("Ed25519", bytes.fromhex(group["publicKey"]["pk"]))
    if "publicKeyJwk" in group:
        assert Key.from_jwk(group["publicKeyJwk"]) == key
    return key


@pytest.mark.parametrize(("gi", "case"), _cases(ED25519))
def test_ed25519(gi: int, case: dict[str, Any]) -> None:
    key = _ed_key(gi)
    msg, sig = bytes.fromhex(case["msg"]), bytes.fromhex(case["sig"])
    _expect(case, lambda: key.verify(msg, sig))


# ------------------------------------------------------------------------------------------
# JWS and JWK
# ------------------------------------------------------------------------------------------
JWS = "json_web_signature_test.json"
JWK = "json_web_key_test.json"


def _header_alg(token: Any) -> str | None:
    """The ``alg`` a lenient reader would see (for classifying the case, not for verifying)."""
    if not isinstance(token, str) or token.count(".") != 2:
        return None
    try:
        head = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, binascii.Error):
        return None
    alg = header.get("alg") if isinstance(header, dict) else None
    return alg if isinstance(alg, str) else None


def _keys_of(group: dict[str, Any]) -> list[dict[str, Any]]:
    holder = group.get("public") or group.get("private")
    assert isinstance(holder, dict)
    keys: list[dict[str, Any]] = holder.get("keys", [holder])
    return keys


def _our_verify(token: Any, jwk: dict[str, Any]) -> None:
    parsed = parse_compact(token)
    parsed.verify(Key.from_jwk(jwk))


def _check_jose_case(group: dict[str, Any], case: dict[str, Any]) -> None:
    token = case["jws"]
    keys = _keys_of(group)
    alg = _header_alg(token)
    we_accept = case["result"] == "valid" and alg in ALLOWED_JWS_ALGS
    errors: list[BlauweKnopError] = []
    for jwk in keys:
        try:
            _our_verify(token, jwk)
        except BlauweKnopError as e:
            errors.append(e)
        else:
            assert we_accept, f"accepted an {case['result']} {alg} case with key {jwk.get('kid')}"
            return
    assert not we_accept, f"refused a valid {alg} case: {[e.code for e in errors]}"
    codes = {e.code for e in errors}
    if case["result"] == "valid":  # valid for Wycheproof, outside our allow-list for us
        assert codes <= {"algorithm_not_allowed", "key_invalid", "malformed_base64"}, codes
    for e in errors:
        assert isinstance(e, (SignatureError, MalformedError)), e


@pytest.mark.parametrize(("gi", "case"), _cases(JWS))
def test_json_web_signature(gi: int, case: dict[str, Any]) -> None:
    _check_jose_case(_group(JWS, gi), case)


@pytest.mark.parametrize(("gi", "case"), _cases(JWK))
def test_json_web_key(gi: int, case: dict[str, Any]) -> None:
    _check_jose_case(_group(JWK, gi), case)


def test_jose_files_exercise_our_algorithms() -> None:
    """Guard against a vacuous pass: the files hold ES256 cases we must accept and refuse."""
    valid_es256 = invalid_es256 = 0
    for name in (JWS, JWK):
        for group in _load(name)["testGroups"]:
            for case in group["tests"]:
                if _header_alg(case["jws"]) == "ES256":
                    if case["result"] == "valid":
                        valid_es256 += 1
                    else:
                        invalid_es256 += 1
    assert valid_es256 >= 2 and invalid_es256 >= 30


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("use", "enc"),
        ("key_ops", ["encrypt"]),
        ("key_ops", ["encrypt", "decrypt"]),
        ("alg", "ES521"),
    ],
)
def test_jwk_not_meant_for_signatures_is_refused(member: str, value: Any) -> None:
    """Wycheproof tc 21/354/356/19: a key marked for encryption, or for another algorithm,
    does not verify signatures (RFC 7517 sections 4.2-4.4)."""
    group = next(g for g in _load(JWS)["testGroups"] if g["comment"] == "SpecialCaseEs256")
    jwk = {**group["public"], member: value}
    with pytest.raises(SignatureError) as err:
        Key.from_jwk(jwk)
    assert err.value.code == "key_invalid"
    Key.from_jwk(group["public"])  # control: the unmodified key imports
