"""Fuzzing every parser and verifier entry point: random bytes and structured mutations of
honest inputs from :mod:`hostile._world`.

The only allowed outcomes: a verified result for input that was not tampered with (or, where
the mutation is re-signed by the real key, for what that key really signed), or a
:class:`~blauweknop.BlauweKnopError`. Never another exception, never a hang: every call is
timed (``BOUND`` seconds) and ``pytest-timeout`` stops a run that hangs outright.

Example counts follow ``HYPOTHESIS_PROFILE`` (``ci`` by default; ``thorough`` for a long
run): see ``tests/strategies.py``.
"""

from __future__ import annotations

import atexit
import base64
import copy
import datetime as dt
import functools
import hashlib
import json
import shutil
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hostile._world import AUD, CJIB, DATA, DEBT_VCT, NONCE, NOW, jws, split_sd, world
from hypothesis import HealthCheck, event, given
from hypothesis import strategies as st
from strategies import b64url_text, json_values, suite_settings

from blauweknop import (
    BlauweKnopError,
    DCQLQuery,
    Key,
    KeyBindingPolicy,
    TrustList,
    Wallet,
    get_profile,
    verify_sd_jwt,
)
from blauweknop._codec import b64u_decode, b64u_encode, parse_json
from blauweknop._jws import parse_compact
from blauweknop._sdjwt import SDJWT
from blauweknop._sdjwt_vc import issue_sd_jwt_vc
from blauweknop._status import (
    BitstringStatusList,
    StatusList,
    sign_status_list_token,
    verify_status_list_token,
)
from blauweknop._verifier import parse_vp_token

T = TypeVar("T")
#: Seconds any single call may take on fuzzed input.
BOUND = 2.0
SETTINGS = suite_settings(
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
pytestmark = pytest.mark.timeout(600)

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#: Characters a mutation inserts: the token alphabet, separators, padding, the other base64
#: alphabet, whitespace, JSON syntax, NUL, non-ASCII look-alikes.
NOISE = B64URL + '~.=+/ \t\n{}[]":,\\\x00é\u2024\uff5e\ufeff'


def outcome(fn: Callable[[], T]) -> T | BlauweKnopError:
    """Run ``fn``: its result, or the library error it raised; anything else fails the test.
    The call must end within ``BOUND`` seconds."""
    started = time.monotonic()
    try:
        res = fn()
    except BlauweKnopError as e:
        assert e.code and e.message
        event(f"refused: {e.code}")  # shown by --hypothesis-show-statistics
        return e
    else:
        event("accepted")
        return res
    finally:
        elapsed = time.monotonic() - started
        assert elapsed < BOUND, f"call took {elapsed:.2f} s"


# ------------------------------------------------------------------------------------------
# Mutation strategies
# ------------------------------------------------------------------------------------------
@st.composite
def mutated_text(draw: st.DrawFn, text: str, separator: str = "~") -> str:
    """``text`` after 1-4 edits: flip, insert or delete characters, truncate, swap, duplicate
    or drop ``separator``-delimited segments."""
    out = text
    for _ in range(draw(st.integers(1, 4), label="edits")):
        op = draw(
            st.sampled_from(["flip", "insert", "delete", "truncate", "swap", "duplicate", "drop"]),
            label="op",
        )
        if op in ("flip", "insert", "delete", "truncate") and not out:
            continue
        if op == "flip":
            i = draw(st.integers(0, len(out) - 1))
            out = out[:i] + draw(st.sampled_from(NOISE)) + out[i + 1 :]
        elif op == "insert":
            i = draw(st.integers(0, len(out)))
            out = out[:i] + draw(st.text(NOISE, min_size=1, max_size=4)) + out[i:]
        elif op == "delete":
            i = draw(st.integers(0, len(out) - 1))
            out = out[:i] + out[i + draw(st.integers(1, 8)) :]
        elif op == "truncate":
            out = out[: draw(st.integers(0, len(out) - 1))]
        else:
            parts = out.split(separator)
            if len(parts) < 2:
                continue
            i = draw(st.integers(0, len(parts) - 1))
            j = draw(st.integers(0, len(parts) - 1))
            if op == "swap":
                parts[i], parts[j] = parts[j], parts[i]
            elif op == "duplicate":
                parts.insert(j, parts[i])
            else:
                del parts[i]
            out = separator.join(parts)
    return out


@st.composite
def mutated_json(draw: st.DrawFn, value: Any) -> Any:
    """A deep copy of ``value`` with 1-3 edits at random places: a member deleted, added or
    replaced by a random JSON value, an array element dropped or duplicated."""
    doc = copy.deepcopy(value)
    for _ in range(draw(st.integers(1, 3), label="edits")):
        node = doc
        # walk down a random number of levels
        for _ in range(draw(st.integers(0, 6))):
            children = (
                list(node.values())
                if isinstance(node, dict)
                else node
                if isinstance(node, list)
                else []
            )
            children = [ch for ch in children if isinstance(ch, dict | list) and ch]
            if not children:
                break
            node = draw(st.sampled_from(children))
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node)))
            op = draw(st.sampled_from(["delete", "replace", "add"]))
            if op == "delete":
                del node[key]
            elif op == "replace":
                node[key] = draw(json_values(max_leaves=4))
            else:
                node[draw(st.text(max_size=6))] = draw(json_values(max_leaves=4))
        elif isinstance(node, list) and node:
            i = draw(st.integers(0, len(node) - 1))
            op = draw(st.sampled_from(["drop", "duplicate", "replace"]))
            if op == "drop":
                del node[i]
            elif op == "duplicate":
                node.insert(i, copy.deepcopy(node[i]))
            else:
                node[i] = draw(json_values(max_leaves=4))
    return doc


def random_input() -> st.SearchStrategy[Any]:
    return st.one_of(st.binary(max_size=300), st.text(max_size=300), st.text(NOISE, max_size=300))


# ------------------------------------------------------------------------------------------
# Codecs and parsers
# ------------------------------------------------------------------------------------------
@SETTINGS
@given(
    data=st.one_of(
        random_input(),
        json_values().map(json.dumps),
        json_values().map(json.dumps).flatmap(lambda t: mutated_text(t, ",")),
    )
)
def test_parse_json(data: str | bytes) -> None:
    res = outcome(lambda: parse_json(data))
    if not isinstance(res, BlauweKnopError):
        # what parses, re-serializes and parses to the same value
        assert parse_json(json.dumps(res)) == res


@SETTINGS
@given(text=st.one_of(b64url_text(80), st.text(B64URL + "=+/ .\n", max_size=80)))
def test_b64u_decode(text: str) -> None:
    res = outcome(lambda: b64u_decode(text))
    if not isinstance(res, BlauweKnopError):
        assert b64u_encode(res) == text  # one canonical encoding per byte string


@SETTINGS
@given(data=st.data())
def test_parse_compact(data: st.DataObject) -> None:
    honest = world().creds["stmt"].split("~")[0]
    token = data.draw(st.one_of(st.text(NOISE, max_size=200), mutated_text(honest, ".")))
    res = outcome(lambda: parse_compact(token))
    if not isinstance(res, BlauweKnopError):
        # a header that parses is one we allow
        assert res.header["alg"] in ("ES256", "EdDSA")


@SETTINGS
@given(data=st.data())
def test_sdjwt_parse(data: st.DataObject) -> None:
    honest = world().present()
    token = data.draw(st.one_of(st.text(NOISE, max_size=300), mutated_text(honest)))
    outcome(lambda: SDJWT.parse(token))


@SETTINGS
@given(data=st.data())
def test_verify_sd_jwt_rejects_every_tampered_presentation(data: st.DataObject) -> None:
    w = world()
    honest = w.present()
    token = data.draw(mutated_text(honest), label="token")
    policy = KeyBindingPolicy(nonce=NONCE, audience=AUD)
    res = outcome(
        lambda: verify_sd_jwt(token, issuer_key=w.cjib.key.public(), key_binding=policy, now=NOW)
    )
    if not isinstance(res, BlauweKnopError):
        assert token == honest, "a tampered presentation verified"


@SETTINGS
@given(data=st.data())
def test_trust_list_verify(data: st.DataObject) -> None:
    w = world()
    token = data.draw(st.one_of(random_input(), mutated_text(w.trust_jwt, ".")), label="token")
    res = outcome(lambda: TrustList.verify(token, w.anchor.public(), now=NOW))
    if not isinstance(res, BlauweKnopError):
        assert isinstance(token, str) and token.strip() == w.trust_jwt


@SETTINGS
@given(value=st.one_of(json_values(), random_input()))
def test_parse_vp_token(value: Any) -> None:
    outcome(lambda: parse_vp_token(value if isinstance(value, str | bytes) else json.dumps(value)))


# ------------------------------------------------------------------------------------------
# The creditor's verifier, end to end
# ------------------------------------------------------------------------------------------
@SETTINGS
@given(data=random_input())
def test_verifier_random_bytes(data: str | bytes) -> None:
    w = world()
    res = outcome(lambda: w.verify(data))
    assert isinstance(res, BlauweKnopError)


@SETTINGS
@given(data=st.data())
def test_verifier_rejects_every_tampered_presentation(data: st.DataObject) -> None:
    w = world()
    name = data.draw(st.sampled_from(["stmt", "stmt_duo", "decl"]), label="credential")
    honest = w.present(name)
    token = data.draw(mutated_text(honest), label="token")
    res = outcome(lambda: w.verify(w.vp(token)))
    if not isinstance(res, BlauweKnopError):
        assert token == honest, "a tampered presentation verified"


@SETTINGS
@given(data=st.data())
def test_verifier_on_resigned_payload_mutations(data: st.DataObject) -> None:
    """The issuer's real key signs a randomly changed payload (as a buggy or hostile issuer
    might): the verifier answers with a result or a library error, and a result shows what
    was signed (never claims from elsewhere)."""
    w = world()
    _, payload, _ = split_sd(w.creds["stmt"])
    changed = data.draw(mutated_json(payload), label="payload")
    token = w.resign("stmt", payload=lambda p: json.dumps(changed))
    res = outcome(lambda: w.verify(w.vp(w.bind(token))))
    if not isinstance(res, BlauweKnopError):
        (cred,) = res.credentials
        assert cred.issuer == changed["iss"] == CJIB
        assert cred.valid_until == changed["exp"]


@SETTINGS
@given(data=st.data())
def test_verifier_on_mutated_w3c_presentations(data: st.DataObject) -> None:
    w = world()
    honest = w.di["vp"]
    vp = data.draw(mutated_json(honest), label="vp")
    res = outcome(lambda: w.verify({"q": [vp]}))
    if not isinstance(res, BlauweKnopError):
        # the holder's proof covers the whole presentation: only no-op edits survive
        (cred,) = res.credentials
        (want,) = w.verify({"q": [honest]}).credentials
        assert cred.claims == want.claims and cred.issuer == want.issuer


@SETTINGS
@given(data=st.data())
def test_verifier_on_disclosure_lists_the_holder_edited_and_rebound(data: st.DataObject) -> None:
    """The holder is the attacker: he edits the disclosures (drop, duplicate, swap, alter
    characters) and signs a fresh KB-JWT over the result. Only a genuine selection of the
    issued disclosures may verify, and it shows only what the issuer signed."""
    w = world()
    issued = w.creds["stmt"]
    jwt, *discs = issued[:-1].split("~")
    edited = data.draw(mutated_text("~".join(discs)), label="disclosures")
    token = f"{jwt}~{edited}~" if edited else f"{jwt}~"
    res = outcome(lambda: w.verify(w.vp(_bind_anything(token))))
    if not isinstance(res, BlauweKnopError):
        sent = [d for d in edited.split("~") if d]
        assert set(sent) <= set(discs) and len(sent) == len(set(sent))
        (cred,) = res.credentials
        (full,) = w.verify(w.vp(w.present("stmt"))).credentials
        _assert_sub_claims(cred.claims, full.claims)


def _bind_anything(token: str) -> str:
    """A KB-JWT by the real holder over any text (the library's holder API only ever binds
    parsed, ASCII presentations; an attacker's tool binds whatever it likes)."""
    w = world()
    sd_hash = base64.urlsafe_b64encode(hashlib.sha256(token.encode("utf-8")).digest())
    payload = {"iat": NOW, "aud": AUD, "nonce": NONCE, "sd_hash": sd_hash.decode().rstrip("=")}
    return token + jws({"alg": "ES256", "typ": "kb+jwt"}, payload, w.holder)


def _assert_sub_claims(part: Any, full: Any) -> None:
    """``part`` shows a subset of ``full``: same values, some members or elements missing."""
    if isinstance(part, dict):
        assert isinstance(full, dict) and set(part) <= set(full)
        for k, v in part.items():
            _assert_sub_claims(v, full[k])
    elif isinstance(part, list):
        assert isinstance(full, list)
        it = iter(full)  # an ordered sub-sequence (withheld elements are simply absent)
        for v in part:
            for candidate in it:
                try:
                    _assert_sub_claims(v, candidate)
                    break
                except AssertionError:
                    continue
            else:
                raise AssertionError(f"{v!r} is not in the issued array")
    else:
        assert part == full


@SETTINGS
@given(data=st.data())
def test_verifier_on_w3c_credentials_the_holder_edited_and_resigned(data: st.DataObject) -> None:
    """The holder edits the derived credential (claims, proof value, contexts) and signs a
    fresh presentation: the issuer's ecdsa-sd-2023 proof must catch every real change."""
    from blauweknop._di import sign_presentation

    w = world()
    honest = w.di["vp"]["verifiableCredential"][0]
    cred = data.draw(mutated_json(honest), label="credential")

    def attack() -> Any:
        vp = sign_presentation(
            [cred],
            w.holder,
            challenge=NONCE,
            domain=AUD,
            created=dt.datetime.fromtimestamp(NOW, dt.UTC),
        )
        return w.verify({"q": [vp]})

    res = outcome(attack)
    if not isinstance(res, BlauweKnopError):
        (got,) = res.credentials
        (want,) = w.verify({"q": [w.di["vp"]]}).credentials
        assert got.claims == want.claims and got.issuer == want.issuer


@SETTINGS
@given(data=st.data())
def test_verifier_on_mutated_vp_token_json(data: st.DataObject) -> None:
    w = world()
    honest = {
        "payment_incapacity_declaration": [w.present("decl")],
        "debt_statements": [w.present("stmt")],
    }
    token = data.draw(
        st.one_of(mutated_text(json.dumps(honest), ","), mutated_json(honest).map(json.dumps)),
        label="vp_token",
    )
    outcome(lambda: w.verify(token, request=w.request))


@functools.cache
def _wallet() -> tuple[Wallet, str]:
    """One wallet per process (it stays open: the lock is held until exit), and a statement
    issued to its holder key."""
    w = world()
    d = Path(tempfile.mkdtemp(prefix="bk-fuzz-wallet-"))
    atexit.register(shutil.rmtree, d, True)
    wallet = Wallet.create(d / "w", passphrase="fuzz tests (fictional)", scrypt_n=2**10)
    data = json.loads((DATA / "debt-statement.json").read_text())
    token = issue_sd_jwt_vc(
        get_profile(DEBT_VCT),
        data,
        issuer_id=CJIB,
        signer=w.cjib.key,
        holder_jwk=wallet.holder_jwk(),
        iat=NOW - 60,
        exp=NOW + 86400,
        status={"status_list": {"idx": 1, "uri": w.cjib.status_uri}},
    )
    return wallet, token


@SETTINGS
@given(data=st.data())
def test_wallet_add_on_tampered_and_resigned_credentials(data: st.DataObject) -> None:
    """Import into the wallet (with a status check) of a credential whose text was altered,
    or whose payload the issuer's key re-signed after a random change."""
    w = world()
    wallet, honest = _wallet()
    _, payload, _ = split_sd(honest)
    token = data.draw(
        st.one_of(
            mutated_text(honest),
            mutated_json(payload).map(lambda p: w.resign(honest, payload=lambda _: json.dumps(p))),
        ),
        label="credential",
    )
    outcome(lambda: wallet.add(token, trust_list=w.trust, status=w.cache, now=NOW))
    outcome(lambda: wallet.refresh_status(w.trust, w.cache, now=NOW))


# ------------------------------------------------------------------------------------------
# DCQL, status lists, keys
# ------------------------------------------------------------------------------------------
@SETTINGS
@given(data=st.data())
def test_dcql_parse(data: st.DataObject) -> None:
    w = world()
    query = data.draw(
        st.one_of(
            json_values(),
            random_input(),
            mutated_json(w.request),
            mutated_text(json.dumps(w.request), ","),
        ),
        label="query",
    )
    res = outcome(lambda: DCQLQuery.parse(query))
    if not isinstance(res, BlauweKnopError):
        assert DCQLQuery.parse(res.to_dict()) == res


@SETTINGS
@given(
    bits=st.sampled_from([1, 2, 4, 8, 1, 2, 4, 8, 0, 3, 16, -1, True, None, "1", 2.0]),
    lst=st.one_of(
        st.binary(max_size=200).map(lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")),
        st.binary(max_size=200).map(
            lambda b: base64.urlsafe_b64encode(zlib.compress(b)).decode().rstrip("=")
        ),
        st.binary(max_size=200).map(
            lambda b: base64.urlsafe_b64encode(zlib.compress(b)[:-3]).decode().rstrip("=")
        ),
        st.text(NOISE, max_size=60),
        st.integers(),
        st.none(),
    ),
)
def test_status_list_from_json(bits: Any, lst: Any) -> None:
    res = outcome(lambda: StatusList.from_json({"bits": bits, "lst": lst}))
    if not isinstance(res, BlauweKnopError):
        assert res.bits == bits and res.size >= 1


@SETTINGS
@given(
    encoded=st.one_of(
        st.text(NOISE, max_size=80),
        st.binary(max_size=300).map(
            lambda b: "u" + base64.urlsafe_b64encode(b).decode().rstrip("=")
        ),
        st.binary(max_size=64).map(
            lambda b: "u" + base64.urlsafe_b64encode(_gzip(b)).decode().rstrip("=")
        ),
    )
)
def test_bitstring_decode(encoded: str) -> None:
    outcome(lambda: BitstringStatusList.decode(encoded, min_entries=8))


def _gzip(data: bytes) -> bytes:
    z = zlib.compressobj(6, zlib.DEFLATED, 31)
    return z.compress(data) + z.flush()


@SETTINGS
@given(data=st.data())
def test_status_list_token(data: st.DataObject) -> None:
    w = world()
    uri = w.cjib.status_uri
    honest = sign_status_list_token(
        StatusList(64, 2), uri=uri, issuer=CJIB, signer=w.cjib.key, now=NOW - 60, ttl=3600
    )
    token = data.draw(st.one_of(random_input(), mutated_text(honest, ".")), label="token")
    res = outcome(
        lambda: verify_status_list_token(token, key=w.cjib.key.public(), expected_uri=uri, now=NOW)
    )
    if not isinstance(res, BlauweKnopError):
        assert (token if isinstance(token, str) else token.decode()).strip() == honest


_COORD = st.one_of(
    st.binary(min_size=32, max_size=32).map(
        lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")
    ),
    b64url_text(50),
    st.integers(),
    st.none(),
)


@SETTINGS
@given(data=st.data())
def test_key_from_jwk(data: st.DataObject) -> None:
    honest = world().holder.public_jwk()
    jwk = data.draw(
        st.one_of(
            mutated_json(honest),
            st.fixed_dictionaries(
                {
                    "kty": st.sampled_from(["EC", "OKP", "RSA", "oct", ""]),
                    "crv": st.sampled_from(["P-256", "P-384", "Ed25519", "X25519", "secp256k1"]),
                },
                optional={
                    "x": _COORD,
                    "y": _COORD,
                    "d": _COORD,
                    "use": st.sampled_from(["sig", "enc", ""]),
                    "key_ops": st.lists(st.sampled_from(["sign", "verify", "encrypt"])),
                    "alg": st.sampled_from(["ES256", "EdDSA", "HS256", "none"]),
                },
            ),
            json_values(),
        ),
        label="jwk",
    )
    res = outcome(lambda: Key.from_jwk(jwk))
    if not isinstance(res, BlauweKnopError):
        assert Key.from_jwk(res.public_jwk()) == res  # a loaded key is a usable key
