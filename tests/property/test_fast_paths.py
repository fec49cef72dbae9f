"""Fast paths agree with the general code they stand beside (benchmarks/README.md).

Each performance shortcut in ``src/`` is checked here against a reference written the plain
way (the code as it was before the shortcut, or the standard library call it replaces), on
random input, including input the shortcut does not take:

* base64url: decoding without re-encoding (canonical last character) and ``binascii`` encoding;
* strict JSON: one shared decoder, the ``dict``-based duplicate check, the depth walk skipped
  for documents with few brackets, the surrogate search skipped for bytes;
* SD-JWT issuance: disclosure JSON written by hand for scalars, the builder's scalar
  short-cut and lazy error paths, batched randomness (salts, decoys, decoy counts);
* SD-JWT processing: scalar leaves checked inline; ``select`` comparing tuples;
* profiles: ``mark`` and ``check_disclosed`` walking the rule trie;
* keys: the cache of parsed public JWKs;
* Data Integrity: ``json_copy`` for ``copy.deepcopy``, compaction without re-expansion.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given
from hypothesis import strategies as st
from strategies import (
    b64url_text,
    claim_names,
    json_scalars,
    json_values,
    sd_claims,
    selections,
    suite_settings,
)

from blauweknop import SD, SDJWT, BlauweKnopError, Key, Limits, get_profile
from blauweknop._codec import b64u_decode, b64u_encode, check_depth, parse_json
from blauweknop._di._common import json_copy
from blauweknop._di._jsonld import compact, expand
from blauweknop._di._loader import default_loader
from blauweknop._di._sd import _Skolem
from blauweknop._errors import DisclosureError, MalformedError
from blauweknop._keys import _public_key_from_members
from blauweknop._profile import (
    DEBT_STATEMENT_VCT,
    NEVER_DISCLOSABLE,
    RODE_KNOP_VCT,
    TECHNICAL_CLAIMS,
    _dotted,
)
from blauweknop._sdjwt import (
    _RESERVED_NAMES,
    _disclosure_json,
    _Entropy,
    _process,
    issue_sd_jwt,
)

SETTINGS = suite_settings(suppress_health_check=[HealthCheck.too_slow])
B64U = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    """``("ok", value)`` or ``("error", code)``: what a call did, comparable across versions."""
    try:
        return ("ok", fn())
    except BlauweKnopError as e:
        return ("error", e.code)


# ------------------------------------------------------------------------------------------
# base64url
# ------------------------------------------------------------------------------------------
_REF_B64U_RE = re.compile(r"^[A-Za-z0-9_-]*$")


def ref_b64u_decode(text: str) -> bytes:
    """The decoder before the fast path: regex, decode, re-encode and compare."""
    if not _REF_B64U_RE.match(text) or len(text) % 4 == 1:
        raise MalformedError("malformed_base64", "not unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as e:
        raise MalformedError("malformed_base64", "not base64url") from e
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != text:
        raise MalformedError("malformed_base64", "not canonical base64url")
    return raw


NOT_B64U = "+/= \n\t\r.!~\x00\x7féÿ€😀"


@SETTINGS
@given(st.one_of(b64url_text(60), st.text(alphabet=B64U + NOT_B64U, max_size=60)))
def test_b64u_decode_agrees_with_reencoding_reference(text: str) -> None:
    assert outcome(lambda: b64u_decode(text)) == outcome(lambda: ref_b64u_decode(text))


@SETTINGS
@given(st.binary(max_size=80))
def test_b64u_round_trip_and_encoding_agree_with_base64(data: bytes) -> None:
    enc = b64u_encode(data)
    assert enc == base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
    assert b64u_decode(enc) == data
    assert b64u_decode(enc.encode("ascii")) == data


# ------------------------------------------------------------------------------------------
# strict JSON
# ------------------------------------------------------------------------------------------
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _ref_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise MalformedError("duplicate_json_key", f"duplicate JSON member {k!r}")
        out[k] = v
    return out


def _ref_constant(name: str) -> Any:
    raise MalformedError("malformed_json", name)


def _ref_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise MalformedError("malformed_json", text)
    return value


def ref_parse_json(data: str | bytes, limits: Limits) -> Any:
    """The strict parser before the fast paths (always walks depth and surrogates)."""
    if len(data) > limits.max_token_bytes:
        raise MalformedError("too_large", "")
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as e:
        raise MalformedError("malformed_json", "") from e
    if text.startswith("\ufeff"):
        raise MalformedError("malformed_json", "")
    try:
        value = json.loads(
            text, object_pairs_hook=_ref_pairs, parse_constant=_ref_constant, parse_float=_ref_float
        )
    except MalformedError:
        raise
    except RecursionError as e:
        raise MalformedError("too_deep", "") from e
    except ValueError as e:
        raise MalformedError("malformed_json", str(e)) from e
    check_depth(value, limits.max_json_depth)
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str) and _SURROGATE.search(v):
            raise MalformedError("malformed_json", "surrogate")
        if isinstance(v, dict):
            for k, item in v.items():
                if _SURROGATE.search(k):
                    raise MalformedError("malformed_json", "surrogate")
                stack.append(item)
        elif isinstance(v, list):
            stack.extend(v)
    return value


@st.composite
def json_documents(draw: st.DrawFn) -> str | bytes:
    """JSON text: valid documents, sometimes edited into duplicates, constants, escapes,
    lone surrogates, deep nesting or garbage; as text or as UTF-8 bytes."""
    value = draw(json_values(max_leaves=12))
    text = json.dumps(value, ensure_ascii=draw(st.booleans()))
    edit = draw(st.integers(0, 9))
    if edit == 1 and text.startswith("{") and len(text) > 2:
        text = '{"k": 1, "k": 2, ' + text[1:] if text != "{}" else '{"k": 1, "k": 2}'
    elif edit == 2:
        text = (
            "["
            + draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", '"\\ud800"']))
            + "]"
        )
    elif edit == 3:
        depth = draw(st.integers(1, 40))
        text = "[" * depth + text + "]" * depth
    elif edit == 4:
        text = text + draw(st.sampled_from([" ", "x", "]", "\n"]))
    elif edit == 5:
        text = "\ufeff" + text
    if draw(st.booleans()):
        return text.encode("utf-8", "surrogatepass")
    return text


@SETTINGS
@given(json_documents(), st.integers(1, 40))
def test_parse_json_agrees_with_the_unshortened_parser(doc: str | bytes, depth: int) -> None:
    limits = Limits(max_json_depth=depth)
    assert outcome(lambda: parse_json(doc, limits=limits)) == outcome(
        lambda: ref_parse_json(doc, limits)
    )


# ------------------------------------------------------------------------------------------
# SD-JWT issuance
# ------------------------------------------------------------------------------------------
@SETTINGS
@given(
    st.one_of(st.text(max_size=30), st.sampled_from(["salt", "AbC-_0"])),
    st.one_of(st.none(), claim_names(), st.just('na"me\\\n\u2028')),
    st.one_of(json_values(max_leaves=8), st.integers(), json_scalars()),
)
def test_disclosure_json_is_what_json_dumps_writes(salt: str, name: str | None, value: Any) -> None:
    arr = [salt, value] if name is None else [salt, name, value]
    expected = json.dumps(arr, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    assert _disclosure_json(salt, name, value) == expected


class Counter:
    """Deterministic salts for comparing two issuers."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"salt-{self.n}"


def ref_build(value: Any, path: str, salt: Callable[[], str], out: list[str]) -> Any:
    """The issuance builder before the fast paths (``decoys=0``), from RFC 9901 section 4.2."""

    def disclose(arr: list[Any]) -> str:
        raw = json.dumps(arr, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        enc = base64.urlsafe_b64encode(raw.encode("utf-8")).rstrip(b"=").decode("ascii")
        out.append(enc)
        digest = hashlib.sha256(enc.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    if isinstance(value, SD):
        raise MalformedError("invalid_sd_mark", f"SD mark at {path or 'top level'}")
    if isinstance(value, dict):
        obj: dict[str, Any] = {}
        digests: list[str] = []
        for k, v in value.items():
            if not isinstance(k, str):
                raise MalformedError("invalid_claims", repr(k))
            if k in _RESERVED_NAMES:
                raise DisclosureError("claim_name_reserved", k)
            if isinstance(v, SD):
                s = salt()
                digests.append(disclose([s, k, ref_build(v.value, f"{path}.{k}", salt, out)]))
            else:
                obj[k] = ref_build(v, f"{path}.{k}", salt, out)
        if digests:
            obj["_sd"] = sorted(digests)
        return obj
    if isinstance(value, list):
        items: list[Any] = []
        for i, v in enumerate(value):
            if isinstance(v, SD):
                s = salt()
                items.append({"...": disclose([s, ref_build(v.value, f"{path}[{i}]", salt, out)])})
            else:
                items.append(ref_build(v, f"{path}[{i}]", salt, out))
        return items
    if isinstance(value, float) and not math.isfinite(value):
        raise MalformedError("invalid_claims", f"{value} at {path or 'top level'}")
    return value


ISSUER = Key.generate("ES256")


def _payload(token: str) -> dict[str, Any]:
    jwt = token.split("~", 1)[0]
    body = jwt.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


_ODD_VALUES = st.sampled_from([math.inf, -math.inf, math.nan, SD("nested mark"), 10**30, True])


@SETTINGS
@given(
    sd_claims(max_leaves=12),
    st.one_of(st.none(), st.tuples(claim_names(), _ODD_VALUES)),
)
def test_issuance_builds_what_the_reference_builder_builds(
    claims: dict[str, Any], odd: tuple[str, Any] | None
) -> None:
    if odd is not None:  # values the builder must refuse (or pass through) the same way
        claims = {**claims, "odd": {odd[0]: odd[1]} if odd[0] else [odd[1]]}
    expected_out: list[str] = []
    expected = outcome(lambda: ref_build(claims, "", Counter(), expected_out))
    got = outcome(lambda: issue_sd_jwt(claims, ISSUER, decoys=0, salt=Counter()))
    if expected[0] == "error":
        assert got == expected
        return
    assert got[0] == "ok", got
    token: str = got[1]
    payload = _payload(token)
    assert payload.pop("_sd_alg") == "sha-256"
    assert payload == json.loads(json.dumps(expected[1]))
    assert token.split("~")[1:-1] == expected_out


@SETTINGS
@given(sd_claims(max_leaves=12, min_size=1), st.integers(0, 4), st.integers(0, 4))
def test_default_randomness_is_fresh_canonical_and_in_range(
    claims: dict[str, Any], lo: int, span: int
) -> None:
    token = issue_sd_jwt(claims, ISSUER, decoys=(lo, lo + span))
    disclosures = token.split("~")[1:-1]
    salts = [json.loads(b64u_decode(d))[0] for d in disclosures]
    assert all(len(b64u_decode(s)) == 16 for s in salts)  # canonical 128-bit salts
    assert len(set(salts)) == len(salts)
    # every _sd array holds its disclosures plus lo..lo+span decoys
    referenced = {hashlib.sha256(d.encode()).digest() for d in disclosures}

    def check(node: Any) -> None:
        if isinstance(node, dict):
            if "_sd" in node:
                mine = [d for d in node["_sd"] if b64u_decode(d) in referenced]
                assert lo <= len(node["_sd"]) - len(mine) <= lo + span
                assert node["_sd"] == sorted(node["_sd"])
            for v in node.values():
                check(v)
        elif isinstance(node, list):
            for v in node:
                check(v)

    check(_payload(token))
    for d in disclosures:
        check(json.loads(b64u_decode(d))[-1])


def test_entropy_salts_and_counts_are_uniformly_formed() -> None:
    e = _Entropy()
    salts = [e.salt() for _ in range(5000)]  # crosses several encoded blocks
    assert len(set(salts)) == len(salts)
    assert all(len(s) == 22 and b64u_encode(b64u_decode(s)) == s for s in salts)
    assert {s[-1] for s in salts} <= set("AQgw")
    for n in (1, 2, 3, 7, 256):
        counts = [e.below(n) for _ in range(2000)]
        assert set(counts) <= set(range(n))
        if n <= 7:
            assert set(counts) == set(range(n))
    decoys = [e.decoy() for _ in range(100)]
    assert len(set(decoys)) == 100 and all(len(b64u_decode(d)) == 32 for d in decoys)


# ------------------------------------------------------------------------------------------
# SD-JWT processing and selection
# ------------------------------------------------------------------------------------------
def ref_select_keep(sd: SDJWT, paths: Iterable[tuple[Any, ...]]) -> set[str]:
    pats = [tuple(p) for p in paths]
    keep = set()
    for dpath, d in sd.disclosure_paths():
        for pat in pats:
            n = min(len(pat), len(dpath))
            if all(
                (p is None and isinstance(q, int)) or p == q
                for p, q in zip(pat[:n], dpath[:n], strict=True)
            ):
                keep.add(d.digest)
                break
    return keep


@SETTINGS
@given(st.data())
def test_select_keeps_what_the_elementwise_match_keeps(data: st.DataObject) -> None:
    claims = data.draw(sd_claims(max_leaves=12))
    sd = SDJWT.parse(issue_sd_jwt(claims, ISSUER, decoys=0))
    paths = data.draw(selections(claims))
    assert {d.digest for d in sd.select(paths).disclosures} == ref_select_keep(sd, paths)


def ref_process(payload: dict[str, Any], disclosures: Any, limits: Limits) -> Any:
    """``_process`` before scalar leaves were checked inline (every value walked)."""
    by_digest = {d.digest: d for d in disclosures}
    seen: set[str] = set()
    used: set[str] = set()
    disclosed: set[tuple[Any, ...]] = set()

    def walk(node: Any, path: tuple[Any, ...], depth: int) -> Any:
        if depth > limits.max_json_depth:
            raise MalformedError("too_deep", "")
        if isinstance(node, dict):
            if "_sd_alg" in node and path:
                raise DisclosureError("sd_alg_not_top_level", "")
            if "..." in node:
                raise DisclosureError("array_digest_malformed", "")
            out = {
                k: walk(v, (*path, k), depth + 1)
                for k, v in node.items()
                if k not in ("_sd", "_sd_alg")
            }
            for dg in node.get("_sd", []):
                assert isinstance(dg, str) and dg not in seen
                seen.add(dg)
                d = by_digest.get(dg)
                if d is None:
                    continue
                used.add(dg)
                disclosed.add((*path, d.name))
                out[d.name] = walk(d.value, (*path, d.name), depth + 1)
            return out
        if isinstance(node, list):
            items: list[Any] = []
            for item in node:
                if isinstance(item, dict) and "..." in item:
                    d = by_digest.get(item["..."])
                    if d is None:
                        continue
                    used.add(d.digest)
                    disclosed.add((*path, len(items)))
                    items.append(walk(d.value, (*path, len(items)), depth + 1))
                else:
                    items.append(walk(item, (*path, len(items)), depth + 1))
            return items
        return node

    result = walk(payload, (), 0)
    assert used == set(by_digest)
    return result, disclosed


@SETTINGS
@given(sd_claims(max_leaves=14), st.integers(0, 8))
def test_processing_agrees_at_every_depth_limit(claims: dict[str, Any], depth: int) -> None:
    sd = SDJWT.parse(issue_sd_jwt(claims, ISSUER, decoys=1))
    payload = sd.unverified_payload()
    limits = Limits(max_json_depth=depth)
    got = outcome(lambda: _process(payload, sd.disclosures, limits))
    assert got == outcome(lambda: ref_process(payload, sd.disclosures, limits))


# ------------------------------------------------------------------------------------------
# Profiles: the rule trie
# ------------------------------------------------------------------------------------------
PROFILES = [get_profile(DEBT_STATEMENT_VCT), get_profile(RODE_KNOP_VCT)]


def _names(profile: Any) -> list[str]:
    return sorted({p for path in profile._rules for p in path if isinstance(p, str)})


def ref_mark(profile: Any, value: Any, p: tuple[Any, ...] = ()) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            child = ref_mark(profile, v, (*p, k))
            out[k] = SD(child) if profile.sd_rule((*p, k)) in ("always", "allowed") else child
        return out
    if isinstance(value, list):
        items = []
        for i, v in enumerate(value):
            child = ref_mark(profile, v, (*p, i))
            items.append(SD(child) if profile.sd_rule((*p, i)) in ("always", "allowed") else child)
        return items
    return value


def ref_check_disclosed(profile: Any, claims: Any, disclosed: Iterable[tuple[Any, ...]]) -> None:
    dset = {tuple(d) for d in disclosed}
    for d in dset:
        if d and d[0] in NEVER_DISCLOSABLE:  # the claim or any sub-claim (SD-JWT VC 3.2.2.2)
            raise DisclosureError("disclosure_not_allowed", "")
        if profile.sd_rule(d) == "never":
            raise DisclosureError("disclosure_not_allowed", "")

    def walk(value: Any, p: tuple[Any, ...]) -> None:
        if p and profile.sd_rule(p) == "always" and p not in dset:
            raise DisclosureError(
                "sd_required", f"claim {_dotted(p)} must be selectively disclosable"
            )
        if isinstance(value, dict):
            for k, v in value.items():
                if not p and k in TECHNICAL_CLAIMS:
                    continue
                walk(v, (*p, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, (*p, i))

    walk(claims, ())


@st.composite
def profile_claims(draw: st.DrawFn) -> tuple[Any, Any, list[tuple[Any, ...]]]:
    """Claims built from a profile's own claim names (and others), and a disclosed set
    drawn from their paths."""
    profile = draw(st.sampled_from(PROFILES))
    names = st.one_of(
        st.sampled_from(_names(profile)), claim_names(), st.sampled_from(sorted(TECHNICAL_CLAIMS))
    )
    tree = draw(
        st.recursive(
            json_scalars(),
            lambda inner: st.one_of(
                st.lists(inner, max_size=3), st.dictionaries(names, inner, max_size=5)
            ),
            max_leaves=25,
        )
    )
    claims = tree if isinstance(tree, dict) else {"subject": tree}

    def paths(v: Any, p: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        items = v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else ()
        out = []
        for k, x in items:
            out.append((*p, k))
            out += paths(x, (*p, k))
        return out

    all_paths = paths(claims)
    disclosed = (
        draw(st.lists(st.sampled_from(all_paths), max_size=len(all_paths))) if all_paths else []
    )
    return profile, claims, disclosed


@SETTINGS
@given(profile_claims())
def test_mark_and_check_disclosed_agree_with_per_path_lookups(case: Any) -> None:
    profile, claims, disclosed = case
    assert repr(profile.mark(claims)) == repr(ref_mark(profile, claims))
    everything = _all_paths(claims)
    for chosen in (disclosed, everything, []):
        assert outcome(lambda c=chosen: profile.check_disclosed(claims, c)) == outcome(
            lambda c=chosen: ref_check_disclosed(profile, claims, c)
        )


def _example(name: str) -> dict[str, Any]:
    import pathlib

    data = pathlib.Path(__file__).resolve().parents[2] / "examples" / "data"
    return dict(json.loads((data / name).read_text()))


def _all_paths(v: Any, p: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    items = v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else ()
    out = []
    for k, x in items:
        out.append((*p, k))
        out += _all_paths(x, (*p, k))
    return out


EXAMPLES = list(zip(PROFILES, ["debt-statement.json", "rode-knop-declaration.json"], strict=True))


def test_mark_agrees_on_the_example_credentials() -> None:
    for profile, name in EXAMPLES:
        claims = _example(name)
        assert repr(profile.mark(claims)) == repr(ref_mark(profile, claims))
        assert repr(profile.mark(claims["subject"], ("subject",))) == repr(
            ref_mark(profile, claims["subject"], ("subject",))
        )


@SETTINGS
@given(st.sampled_from(EXAMPLES), st.data())
def test_check_disclosed_agrees_on_the_example_credentials(
    example: Any, data: st.DataObject
) -> None:
    profile, name = example
    claims = _example(name)
    paths = _all_paths(claims)
    always = [q for q in paths if profile.sd_rule(q) == "always"]
    # what an honest issuer discloses, minus a few; plus, sometimes, a path that must not be
    disclosed = [q for q in always if data.draw(st.integers(0, 9)) > 0]
    disclosed += data.draw(st.lists(st.sampled_from(paths), max_size=2))
    assert outcome(lambda: profile.check_disclosed(claims, disclosed)) == outcome(
        lambda: ref_check_disclosed(profile, claims, disclosed)
    )
    assert outcome(lambda: profile.check_disclosed(claims, always)) == ("ok", None)


# ------------------------------------------------------------------------------------------
# Keys: the parsed-JWK cache
# ------------------------------------------------------------------------------------------
JWK_KEYS = [Key.generate("ES256"), Key.generate("EdDSA")]


@st.composite
def jwks(draw: st.DrawFn) -> dict[str, Any]:
    jwk: dict[str, Any] = dict(
        draw(st.sampled_from(JWK_KEYS)).public_jwk(with_kid=draw(st.booleans()))
    )
    edit = draw(st.integers(0, 7))
    if edit == 1:
        jwk["use"] = draw(st.sampled_from(["sig", "enc", 1]))
    elif edit == 2:
        jwk["key_ops"] = draw(st.sampled_from([["verify"], ["encrypt"], "verify"]))
    elif edit == 3:
        jwk["x"] = jwk["x"][:-1] + draw(st.sampled_from(list(B64U)))  # off the curve, mostly
    elif edit == 4:
        jwk["alg"] = draw(st.sampled_from(["ES256", "EdDSA", "ES384", "none"]))
    elif edit == 5:
        jwk[draw(claim_names())] = draw(
            st.one_of(st.text(max_size=5), st.integers(), st.booleans())
        )
    elif edit == 6:
        jwk.pop(draw(st.sampled_from(sorted(jwk))))
    return jwk


@SETTINGS
@given(jwks())
def test_cached_jwk_parsing_agrees_with_parsing(jwk: dict[str, Any]) -> None:
    def fresh() -> Any:
        k = Key._parse_jwk(jwk)
        return (k.alg, k.kid, k.public_jwk(), k.has_private)

    def cached() -> Any:
        k = Key.from_jwk(jwk)
        assert Key.from_jwk(dict(jwk)) is k or not all(type(v) is str for v in jwk.values())
        return (k.alg, k.kid, k.public_jwk(), k.has_private)

    assert outcome(cached) == outcome(fresh)


def test_private_jwks_are_never_cached() -> None:
    before = _public_key_from_members.cache_info().currsize
    private = Key.generate("ES256").private_jwk()
    k = Key.from_jwk(private)
    assert k.has_private and Key.from_jwk(private) is not k
    assert _public_key_from_members.cache_info().currsize == before


# ------------------------------------------------------------------------------------------
# Data Integrity
# ------------------------------------------------------------------------------------------
def _shares_containers(a: Any, b: Any) -> bool:
    if isinstance(a, dict | list) and a is b:
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return any(_shares_containers(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return any(_shares_containers(x, y) for x, y in zip(a, b, strict=True))
    return False


@SETTINGS
@given(json_values(max_leaves=25))
def test_json_copy_is_a_deep_copy(value: Any) -> None:
    copied = json_copy(value)
    assert copied == copy.deepcopy(value)
    assert json.dumps(copied) == json.dumps(value)  # also the same member order
    assert not _shares_containers(copied, value)


_VC = "https://www.w3.org/ns/credentials/v2"
_BK = "https://w3id.org/blauweknop/v1"


@pytest.mark.parametrize("name", ["debt-statement.json", "rode-knop-declaration.json"])
def test_compaction_without_re_expansion_is_unchanged(name: str) -> None:
    import pathlib

    from pyld import jsonld

    data = pathlib.Path(__file__).resolve().parents[2] / "examples" / "data" / name
    claims = json.loads(data.read_text())
    w3c = "DebtStatement" if name.startswith("debt") else "PaymentIncapacityDeclaration"
    doc = {
        "@context": [_VC, _BK],
        "type": ["VerifiableCredential", w3c],
        "issuer": "urn:oin:00000001003214345000",
        "validFrom": "2026-11-20T00:00:00Z",
        "credentialSubject": {"id": "did:example:holder", **claims},
    }
    loader = default_loader()
    sk = _Skolem()
    expanded = sk.skolemize(expand(doc, loader))
    before = copy.deepcopy(expanded)
    fast = compact(expanded, doc["@context"], loader)
    assert expanded == before  # the input is not modified
    options = {**loader.jsonld_options()}
    with loader.lock:
        slow = jsonld.JsonLdProcessor().compact(before, {"@context": doc["@context"]}, options)
    assert fast == slow


@SETTINGS
@given(st.dictionaries(claim_names(), json_scalars(), max_size=4))
def test_json_copy_of_documents_with_odd_types_falls_back_to_deepcopy(
    extra: dict[str, Any],
) -> None:
    doc = {"a": (1, 2), "b": {"c": frozenset({1})}, **extra}
    assume("a" not in extra and "b" not in extra)
    assert json_copy(doc) == copy.deepcopy(doc)


@SETTINGS
@given(st.sampled_from(PROFILES), st.data())
def test_sd_rule_from_the_trie_is_the_rule_table(profile: Any, data: st.DataObject) -> None:
    from blauweknop._profile import _generalise

    elements = st.one_of(
        st.sampled_from(_names(profile)), st.integers(0, 5), st.none(), claim_names()
    )
    path = data.draw(
        st.one_of(st.sampled_from(sorted(profile._rules, key=repr)), st.lists(elements, max_size=5))
    )
    assert profile.sd_rule(path) == profile._rules.get(_generalise(path))
