"""Hostile ``x5c`` headers fed to the real ``Verifier`` (specs/x509.md): the issuer JWT of a
genuine credential is re-signed with the genuine key and a tampered ``x5c``, so only the chain
is wrong. Each is refused with its code, fast, and nothing else leaks."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from blauweknop import BlauweKnopError, Issuer, Key, TrustList, Verifier, build_trust_list
from blauweknop._codec import b64u_decode, b64u_encode
from blauweknop._sdjwt import SDJWT
from blauweknop.debt import DebtStatement
from blauweknop.x509 import CertificateAuthority, encode_x5c

NOW = 1_795_000_000.0
ISS = "https://cjib.example"
OIN = "00000001003214345000"
NONCE, AUD = "x509-hostile", "urn:oin:00000001800866472000"
DATA = Path(__file__).resolve().parents[2] / "examples" / "data"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("x509-hostile")
    root = CertificateAuthority.create("Scheme Root", now=NOW - 86400)
    sub = root.intermediate("Issuing CA", now=NOW - 86400)
    issuer = Issuer.init(
        d / "cjib", issuer_id=ISS, name="CJIB", roles=["creditor"], extra={"oin": OIN}
    )
    key: Key = issuer.signer  # type: ignore[assignment]
    leaf = sub.issue("CJIB", key.public(), uris=[ISS], now=NOW - 86400)
    issuer.install_certificate([leaf, sub.certificate])
    anchor, holder = Key.generate(), Key.generate()
    trust = TrustList.verify(
        build_trust_list([issuer.trust_entry()], anchor, now=NOW),
        anchor.public(),
        now=NOW,
        x509_roots=[root.certificate],
    )
    model = DebtStatement.from_claims(json.loads((DATA / "debt-statement.json").read_text()))
    text = issuer.issue(model, holder_jwk=holder.public_jwk(), now=int(NOW)).text
    return {"root": root, "sub": sub, "key": key, "holder": holder, "trust": trust, "text": text}


def _resign(s: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> str:
    jwt, *rest = s["text"].split("~")
    h, p, _ = jwt.split(".")
    header = json.loads(b64u_decode(h))
    change(header)
    eh = b64u_encode(json.dumps(header, separators=(",", ":")).encode())
    sig = s["key"].sign(f"{eh}.{p}".encode())
    token = "~".join([f"{eh}.{p}.{b64u_encode(sig)}", *rest])
    return SDJWT.parse(token).present(
        None, holder_key=s["holder"], nonce=NONCE, audience=AUD, iat=int(NOW)
    )


def _leaf_der(s: dict[str, Any]) -> bytes:
    return base64.b64decode(json.loads(b64u_decode(s["text"].split(".")[0]))["x5c"][0])


CASES: list[tuple[str, Callable[[dict[str, Any], dict[str, Any]], None], str]] = [
    ("x5c-not-a-list", lambda s, h: h.update(x5c="MIIB"), "x5c_invalid"),
    ("x5c-null", lambda s, h: h.update(x5c=None), "x5c_invalid"),
    ("x5c-empty", lambda s, h: h.update(x5c=[]), "x5c_invalid"),
    ("x5c-object", lambda s, h: h.update(x5c={"0": h["x5c"][0]}), "x5c_invalid"),
    ("x5c-10000-entries", lambda s, h: h.update(x5c=["AAAA"] * 10000), "x5c_invalid"),
    ("x5c-huge-string", lambda s, h: h.update(x5c=["A" * 100_000]), "x5c_invalid"),
    (
        # ~1,200 base64 characters hold a '+' or '/' with certainty (1 - (62/64)^1200)
        "x5c-base64url",
        lambda s, h: h.update(x5c=[x.replace("+", "-").replace("/", "_") for x in h["x5c"]]),
        "x5c_invalid",
    ),
    (
        "x5c-leaf-only-no-intermediate",
        lambda s, h: h.update(x5c=h["x5c"][:1]),
        "x5c_untrusted_root",
    ),
    ("x5c-order-reversed", lambda s, h: h.update(x5c=h["x5c"][::-1]), "x5c_key_usage"),
    (
        "x5c-root-appended-after-foreign-intermediate",
        lambda s, h: h.update(
            x5c=[
                h["x5c"][0],
                *encode_x5c(
                    [
                        CertificateAuthority.create("Issuing CA", now=NOW - 86400).certificate,
                        s["root"].certificate,
                    ]
                ),
            ]
        ),
        "x5c_invalid",
    ),
    (
        "x5c-leaf-duplicated",
        lambda s, h: h.update(x5c=[h["x5c"][0], h["x5c"][0], h["x5c"][1]]),
        "x5c_invalid",
    ),
    (
        "x5c-trailing-byte-after-der",
        lambda s, h: h.update(x5c=[base64.b64encode(_leaf_der(s) + b"\0").decode(), h["x5c"][1]]),
        "x5c_invalid",
    ),
]


@pytest.mark.parametrize(("change", "code"), [pytest.param(c, k, id=i) for i, c, k in CASES])
def test_hostile_x5c_is_refused(setup: dict[str, Any], change: Any, code: str) -> None:
    vp = _resign(setup, lambda h: change(setup, h))
    verifier = Verifier(setup["trust"], allow_missing_status=True)
    start = time.perf_counter()
    with pytest.raises(BlauweKnopError) as e:
        verifier.verify_presentation(vp, nonce=NONCE, audience=AUD, now=NOW)
    assert time.perf_counter() - start < 2
    assert e.value.code == code, e.value


def test_the_unchanged_resigned_token_verifies(setup: dict[str, Any]) -> None:
    # The control: re-signing itself changes nothing, so each refusal above is the chain's.
    vp = _resign(setup, lambda h: None)
    out = Verifier(setup["trust"], allow_missing_status=True).verify_presentation(
        vp, nonce=NONCE, audience=AUD, now=NOW
    )
    assert out.issuer == ISS
