"""Properties of SD-JWT issuance, presentation and verification (RFC 9901).

(a) For random claim trees with random SD marks and random holder selections, verification
    returns exactly what a small reference model says the selection reveals.
(b) Tampering: any single-character change is refused; dropping a disclosure either is refused
    (a disclosure below it is now unreferenced) or yields exactly the view without that claim;
    adding one either is refused (its parent is hidden) or yields exactly the view with it.
    With key binding required, every change is refused, and a KB-JWT taken from another
    presentation is refused.
(c) Parse / serialize round trips of presentations, base64url and JSON.

The reference model reads the *original* claim tree (with its SD marks), never the library's
SD-JWT structures; the map from a disclosure to its claim path is recomputed here from the
raw token with ``base64``/``json``/``hashlib``.

Run with ``HYPOTHESIS_PROFILE=thorough`` for many more examples (see tests/strategies.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    b64url_text,
    iter_paths,
    json_values,
    sd_claims,
    selections,
    suite_settings,
)

from blauweknop import (
    SD,
    SDJWT,
    BlauweKnopError,
    DisclosureError,
    HolderBindingError,
    KeyBindingPolicy,
    MalformedError,
    issue_sd_jwt,
    verify_sd_jwt,
)
from blauweknop._codec import b64u_decode, b64u_encode, canonical_json, parse_json
from blauweknop._jws import parse_compact
from blauweknop._keys import Key

Path = tuple[Any, ...]
NOW = 1_750_000_000
NONCE = "nonce-9Kx"
AUD = "https://schuldeiser.example"
ISSUER = Key.generate("ES256")
HOLDER = Key.generate("ES256")
REQUIRED = KeyBindingPolicy(nonce=NONCE, audience=AUD)
LAX = KeyBindingPolicy(required=False)
FLIP_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~.=+/ é\x00"


# ------------------------------------------------------------------------------------------
# Reference model
# ------------------------------------------------------------------------------------------
def _compatible(pattern: Path, path: Path) -> bool:
    """Selection rule (SDJWT.select docstring): a disclosure is kept when its path leads to a
    selected path (ancestor) or lies under one; ``None`` stands for any array index."""
    n = min(len(pattern), len(path))
    return all(
        a == b or (a is None and isinstance(b, int))
        for a, b in zip(pattern[:n], path[:n], strict=True)
    )


def sd_paths(claims: Any) -> frozenset[Path]:
    return frozenset(p for p, marked in iter_paths(claims) if marked)


def revealed_by(claims: Any, patterns: list[Path]) -> frozenset[Path]:
    return frozenset(p for p in sd_paths(claims) if any(_compatible(q, p) for q in patterns))


def view(claims: dict[str, Any], revealed: frozenset[Path]) -> tuple[Any, frozenset[Path]]:
    """What a verifier sees when exactly the SD nodes at ``revealed`` are disclosed, and the
    disclosed paths in the resulting (processed) document."""
    disclosed: set[Path] = set()

    def walk(node: Any, full: Path, shown: Path) -> Any:
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if isinstance(v, SD):
                    if (*full, k) not in revealed:
                        continue
                    disclosed.add((*shown, k))
                    out[k] = walk(v.value, (*full, k), (*shown, k))
                else:
                    out[k] = walk(v, (*full, k), (*shown, k))
            return out
        if isinstance(node, list):
            items: list[Any] = []
            for i, v in enumerate(node):
                if isinstance(v, SD):
                    if (*full, i) not in revealed:
                        continue
                    disclosed.add((*shown, len(items)))
                    items.append(walk(v.value, (*full, i), (*shown, len(items))))
                else:
                    items.append(walk(v, (*full, i), (*shown, len(items))))
            return items
        return node

    return walk(claims, (), ()), frozenset(disclosed)


def canon(value: Any) -> str:
    """Type-exact comparison form (``1``, ``1.0`` and ``true`` stay distinct)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _digest(encoded: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(encoded.encode()).digest()).rstrip(b"=").decode()


def disclosure_paths(issued: str) -> dict[str, Path]:
    """digest -> claim path (full-array indices), from the raw issued SD-JWT."""
    jwt, *encs = issued.split("~")[:-1]
    payload = json.loads(_b64d(jwt.split(".")[1]))
    by_digest = {_digest(e): json.loads(_b64d(e)) for e in encs}
    out: dict[str, Path] = {}

    def walk(node: Any, path: Path) -> None:
        if isinstance(node, dict):
            for dg in node.get("_sd", []):
                if dg in by_digest:
                    _, name, value = by_digest[dg]
                    out[dg] = (*path, name)
                    walk(value, (*path, name))
            for k, v in node.items():
                if k not in ("_sd", "_sd_alg"):
                    walk(v, (*path, k))
        elif isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, dict) and list(item) == ["..."]:
                    if item["..."] in by_digest:
                        _, value = by_digest[item["..."]]
                        out[item["..."]] = (*path, i)
                        walk(value, (*path, i))
                else:
                    walk(item, (*path, i))

    walk(payload, ())
    assert len(out) == len(encs)
    return out


def _issue(claims: dict[str, Any], bound: bool) -> str:
    return issue_sd_jwt(claims, ISSUER, holder_jwk=HOLDER.public_jwk() if bound else None)


def _present(issued: str, patterns: list[Path] | None, bound: bool, **kb: Any) -> str:
    sd = SDJWT.parse(issued)
    if not bound:
        return sd.present(patterns, holder_key=None)
    kb = {"nonce": NONCE, "audience": AUD, "iat": NOW, **kb}
    return sd.present(patterns, holder_key=HOLDER, **kb)


def _verify(token: str, bound: bool) -> Any:
    return verify_sd_jwt(
        token, issuer_key=ISSUER.public(), key_binding=REQUIRED if bound else LAX, now=NOW
    )


def _expected_claims(claims: dict[str, Any], revealed: frozenset[Path], bound: bool) -> Any:
    expected, _ = view(claims, revealed)
    if bound:
        expected["cnf"] = {"jwk": HOLDER.public_jwk()}
    return expected


def _split(vp: str) -> tuple[str, list[str], str]:
    jwt, *encs, kb = vp.split("~")
    return jwt, encs, kb


def _join(jwt: str, encs: list[str], kb: str = "") -> str:
    return jwt + "~" + "".join(e + "~" for e in encs) + kb


# ------------------------------------------------------------------------------------------
# (a) verification returns exactly the selected claims
# ------------------------------------------------------------------------------------------
@suite_settings()
@given(data=st.data(), claims=sd_claims(), bound=st.booleans())
def test_verify_returns_exactly_the_selection(
    data: st.DataObject, claims: Any, bound: bool
) -> None:
    patterns = data.draw(selections(claims), label="patterns")
    issued = _issue(claims, bound)
    kb_iat = NOW - data.draw(st.integers(0, 250), label="KB-JWT age")
    vp = (
        _present(issued, patterns, bound, iat=kb_iat)
        if bound
        else _present(issued, patterns, bound)
    )
    revealed = revealed_by(claims, patterns)

    res = _verify(vp, bound)

    expected, disclosed = view(claims, revealed)
    if bound:
        expected["cnf"] = {"jwk": HOLDER.public_jwk()}
    assert canon(res.claims) == canon(expected)
    assert res.disclosed == disclosed
    assert res.key_bound is bound
    _, encs, kb = _split(vp)
    # the KB-JWT's iat handed back equals the one read from the KB-JWT itself (the verifier
    # uses it instead of parsing the KB-JWT a second time)
    assert res.kb_iat == (float(parse_compact(kb).payload_json()["iat"]) if bound else None)
    assert res.kb_iat == (kb_iat if bound else None)
    assert len(encs) == len(revealed)
    assert {disclosure_paths(issued)[_digest(e)] for e in encs} == revealed


@suite_settings()
@given(claims=sd_claims(), bound=st.booleans())
def test_everything_and_nothing(claims: Any, bound: bool) -> None:
    issued = _issue(claims, bound)
    everything = _verify(_present(issued, None, bound), bound)
    assert canon(everything.claims) == canon(_expected_claims(claims, sd_paths(claims), bound))
    nothing = _verify(_present(issued, [], bound), bound)
    assert canon(nothing.claims) == canon(_expected_claims(claims, frozenset(), bound))


# ------------------------------------------------------------------------------------------
# (b) tampering
# ------------------------------------------------------------------------------------------
@suite_settings()
@given(data=st.data(), claims=sd_claims(), bound=st.booleans())
def test_any_single_character_change_is_rejected(
    data: st.DataObject, claims: Any, bound: bool
) -> None:
    issued = _issue(claims, bound)
    vp = _present(issued, data.draw(selections(claims), label="patterns"), bound)
    _verify(vp, bound)  # control
    # Salts, decoys and signatures make the token's length and content vary between runs of
    # the same example, so draw position and character independently of them.
    pos = data.draw(st.integers(0, 2**20), label="position") % len(vp)
    k = data.draw(st.integers(0, len(FLIP_ALPHABET) - 1), label="char")
    repl = FLIP_ALPHABET[k] if FLIP_ALPHABET[k] != vp[pos] else FLIP_ALPHABET[k - 1]
    tampered = vp[:pos] + repl + vp[pos + 1 :]
    assert tampered != vp
    with pytest.raises(BlauweKnopError):
        _verify(tampered, bound)


def _has_revealed_descendant(path: Path, revealed: frozenset[Path]) -> bool:
    return any(len(q) > len(path) and q[: len(path)] == path for q in revealed)


def _parent_hidden(path: Path, claims: Any, revealed: frozenset[Path]) -> bool:
    marked = sd_paths(claims)
    return any(path[:n] in marked and path[:n] not in revealed for n in range(1, len(path)))


@suite_settings()
@given(data=st.data(), claims=sd_claims(min_size=1), bound=st.booleans())
def test_dropping_a_selected_disclosure(data: st.DataObject, claims: Any, bound: bool) -> None:
    patterns = data.draw(selections(claims), label="patterns")
    issued = _issue(claims, bound)
    vp = _present(issued, patterns, bound)
    jwt, encs, kb = _split(vp)
    if not encs:
        return
    i = data.draw(st.integers(0, len(encs) - 1), label="dropped")
    path = disclosure_paths(issued)[_digest(encs[i])]
    revealed = revealed_by(claims, patterns)
    orphans = _has_revealed_descendant(path, revealed)
    rest = encs[:i] + encs[i + 1 :]

    # Without key binding: the holder may withhold it; nothing else may change.
    if orphans:
        with pytest.raises(DisclosureError) as err:
            _verify(_join(jwt, rest), False)
        assert err.value.code == "disclosure_unreferenced"
    else:
        res = _verify(_join(jwt, rest), False)
        want = _expected_claims(claims, revealed - {path}, bound)
        assert canon(res.claims) == canon(want)

    # With key binding the KB-JWT covers the set: any drop is refused.
    if bound:
        with pytest.raises(BlauweKnopError) as err:
            _verify(_join(jwt, rest, kb), True)
        want_code = "disclosure_unreferenced" if orphans else "sd_hash_mismatch"
        assert err.value.code == want_code


@suite_settings()
@given(data=st.data(), claims=sd_claims(min_size=1), bound=st.booleans())
def test_adding_an_unselected_disclosure(data: st.DataObject, claims: Any, bound: bool) -> None:
    patterns = data.draw(selections(claims), label="patterns")
    issued = _issue(claims, bound)
    vp = _present(issued, patterns, bound)
    jwt, encs, kb = _split(vp)
    _, all_encs, _ = _split(issued)
    unselected = [e for e in all_encs if e not in encs]
    if not unselected:
        return
    extra = data.draw(st.sampled_from(unselected), label="added")
    at = data.draw(st.integers(0, len(encs)), label="position")
    path = disclosure_paths(issued)[_digest(extra)]
    revealed = revealed_by(claims, patterns)
    hidden_parent = _parent_hidden(path, claims, revealed)
    more = [*encs[:at], extra, *encs[at:]]

    if hidden_parent:
        with pytest.raises(DisclosureError) as err:
            _verify(_join(jwt, more), False)
        assert err.value.code == "disclosure_unreferenced"
    else:
        res = _verify(_join(jwt, more), False)
        assert canon(res.claims) == canon(_expected_claims(claims, revealed | {path}, bound))

    if bound:
        with pytest.raises(BlauweKnopError) as err:
            _verify(_join(jwt, more, kb), True)
        assert err.value.code == (
            "disclosure_unreferenced" if hidden_parent else "sd_hash_mismatch"
        )


@suite_settings()
@given(data=st.data(), claims=sd_claims())
def test_key_binding_jwt_cannot_be_moved(data: st.DataObject, claims: Any) -> None:
    issued = _issue(claims, True)
    first = _present(issued, data.draw(selections(claims), label="first"), True)
    second = _present(issued, data.draw(selections(claims), label="second"), True)
    _, e1, kb1 = _split(first)
    j2, e2, _ = _split(second)
    swapped = _join(j2, e2, kb1)
    if e1 == e2:  # same disclosures in the same order: the KB-JWT is legitimately the same
        assert canon(_verify(swapped, True).claims) == canon(_verify(second, True).claims)
    else:
        with pytest.raises(HolderBindingError) as err:
            _verify(swapped, True)
        assert err.value.code == "sd_hash_mismatch"

    for other, code in (
        (_present(issued, None, True, nonce=NONCE + "x"), "nonce_mismatch"),
        (_present(issued, None, True, audience=AUD + "/x"), "audience_mismatch"),
        (_present(issued, None, True, iat=NOW - 3600), "key_binding_iat"),
    ):
        with pytest.raises(HolderBindingError) as err:
            _verify(other, True)
        assert err.value.code == code

    # Another credential of the same holder: its KB-JWT does not fit this presentation.
    other_issued = _issue(claims, True)
    _, _, other_kb = _split(_present(other_issued, None, True))
    j_all, e_all, _ = _split(_present(issued, None, True))
    with pytest.raises(HolderBindingError) as err:
        _verify(_join(j_all, e_all, other_kb), True)
    assert err.value.code == "sd_hash_mismatch"


@suite_settings()
@given(data=st.data(), claims=sd_claims())
def test_key_binding_required_but_stripped(data: st.DataObject, claims: Any) -> None:
    issued = _issue(claims, True)
    jwt, encs, _ = _split(_present(issued, data.draw(selections(claims)), True))
    with pytest.raises(HolderBindingError) as err:
        _verify(_join(jwt, encs), True)
    assert err.value.code == "key_binding_missing"


# ------------------------------------------------------------------------------------------
# (c) round trips
# ------------------------------------------------------------------------------------------
@suite_settings()
@given(data=st.data(), claims=sd_claims(), bound=st.booleans())
def test_parse_serialize_round_trip(data: st.DataObject, claims: Any, bound: bool) -> None:
    issued = _issue(claims, bound)
    vp = _present(issued, data.draw(selections(claims)), bound)
    for token in (issued, vp):
        parsed = SDJWT.parse(token)
        assert parsed.serialize() == token
        assert SDJWT.parse(parsed.serialize()) == parsed
        assert parsed.serialize(without_kb=True) == token[: token.rindex("~") + 1]
        assert parsed.kb_jwt == (token.rsplit("~", 1)[1] or None)
        for d in parsed.disclosures:
            arr = json.loads(_b64d(d.encoded))
            assert arr == ([d.salt, d.value] if d.name is None else [d.salt, d.name, d.value])
            assert d.digest == _digest(d.encoded)
            assert len(_b64d(d.salt)) >= 16  # 128-bit salts (RFC 9901 section 9.3)
    assert (SDJWT.parse(vp).kb_jwt is not None) is bound


@suite_settings()
@given(raw=st.binary(max_size=200))
def test_base64url_round_trip(raw: bytes) -> None:
    text = b64u_encode(raw)
    assert text == base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    assert b64u_decode(text) == raw


@suite_settings()
@given(text=b64url_text(max_size=60))
def test_base64url_decoding_is_canonical(text: str) -> None:
    """Every accepted text is the unique encoding of what it decodes to."""
    try:
        raw = b64u_decode(text)
    except MalformedError as e:
        assert e.code == "malformed_base64"
        lenient = None
        if len(text) % 4 != 1:
            lenient = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        assert lenient is None or b64u_encode(lenient) != text
    else:
        assert b64u_encode(raw) == text


@suite_settings()
@given(value=json_values())
def test_json_round_trip(value: Any) -> None:
    assert canon(parse_json(canonical_json(value))) == canon(value)
    assert canon(parse_json(json.dumps(value, indent=1))) == canon(value)
