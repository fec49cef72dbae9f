"""Strict base64url and JSON (blauweknop._codec): every lenient default of Python refused.

Sources: RFC 4648 section 10 (base64 test vectors, here in the URL-safe unpadded form),
RFC 7515 section 2 (base64url without padding), RFC 8259 (JSON), RFC 7493 (I-JSON: no
duplicate names, no lone surrogates, finite numbers), SECURITY.md (what Python accepts).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from blauweknop._codec import (
    b64u_decode,
    b64u_encode,
    canonical_json,
    check_depth,
    parse_json,
    parse_json_object,
)
from blauweknop._errors import MalformedError
from blauweknop._limits import Limits

RFC4648 = [
    (b"", ""),
    (b"f", "Zg"),
    (b"fo", "Zm8"),
    (b"foo", "Zm9v"),
    (b"foob", "Zm9vYg"),
    (b"fooba", "Zm9vYmE"),
    (b"foobar", "Zm9vYmFy"),
    (b"\xfb\xff", "-_8"),
    (b"\xff\xfe", "__4"),
]


@pytest.mark.parametrize(("raw", "text"), RFC4648)
def test_base64url_known_answers(raw: bytes, text: str) -> None:
    assert b64u_encode(raw) == text
    assert b64u_decode(text) == raw
    assert b64u_decode(text.encode("ascii")) == raw


@pytest.mark.parametrize(
    "text",
    [
        "Zg==",  # padding
        "Zg=",
        "Zm8=",
        "Zh",  # non-zero unused bits ("f" is "Zg")
        "Zm9",  # "fo" is "Zm8"
        "Zm9vY",  # length 1 mod 4
        "Z",
        "+_8",  # standard alphabet
        "-/8",
        " Zg",
        "Zg ",
        "Zg\n",
        "Zm 9v",
        "Zg.",
        "Zg~",
        "Zé",
        "Ｚｇ",  # full-width letters
        "Zg\x00",
    ],
)
def test_base64url_refuses_non_canonical_text(text: str) -> None:
    with pytest.raises(MalformedError) as err:
        b64u_decode(text)
    assert err.value.code == "malformed_base64"


def test_base64url_refuses_non_ascii_bytes() -> None:
    with pytest.raises(MalformedError) as err:
        b64u_decode(b"Zg\xff")
    assert err.value.code == "malformed_base64"


def test_base64url_names_what_failed() -> None:
    with pytest.raises(MalformedError, match="JWS header"):
        b64u_decode("Zg==", what="JWS header")


# ------------------------------------------------------------------------------------------
# JSON
# ------------------------------------------------------------------------------------------
def test_parse_json_accepts_plain_json() -> None:
    text = '{"a": [1, 2.5, -0, true, false, null, "x\\u00e9\\ud83d\\ude00"], "b": {}}'
    assert parse_json(text) == {"a": [1, 2.5, 0, True, False, None, "xé\U0001f600"], "b": {}}
    assert parse_json(text.encode("utf-8")) == parse_json(text)
    assert parse_json('{"a": 1}\n') == {"a": 1}


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "a": 1}',
        '{"a": 1, "a": 2}',
        '[{"x": {"b": 1, "b": {}}}]',
        '{"a": 1, "\\u0061": 2}',
    ],
)
def test_duplicate_member_names(text: str) -> None:
    with pytest.raises(MalformedError) as err:
        parse_json(text)
    assert err.value.code == "duplicate_json_key"


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "[Infinity]",
        '{"a": -Infinity}',
        "1e400",  # finite syntax, infinite value
        "[-1e400]",
        '{"exp": 1E309}',
    ],
)
def test_non_finite_numbers(text: str) -> None:
    with pytest.raises(MalformedError) as err:
        parse_json(text)
    assert err.value.code == "malformed_json"


def test_large_but_finite_numbers_are_fine() -> None:
    assert parse_json("[1e308, -1e308, 5e-324]") == [1e308, -1e308, 5e-324]


def test_huge_integer() -> None:
    with pytest.raises(MalformedError) as err:
        parse_json("9" * 5000)
    assert err.value.code == "malformed_json"


@pytest.mark.parametrize(
    "text",
    [
        '"\\ud800"',
        '"\\udfff"',
        '"a\\ud83d"',  # high surrogate without its pair
        '"\\ude00\\ud83d"',  # reversed pair
        '{"\\ud800": 1}',
        '["ok", ["\\udc00"]]',
        '"\ud800"',  # a raw lone surrogate in str input
    ],
)
def test_lone_surrogates(text: str) -> None:
    with pytest.raises(MalformedError) as err:
        parse_json(text)
    assert err.value.code == "malformed_json"


@pytest.mark.parametrize(
    "data",
    [
        b'"\xed\xa0\x80"',  # CESU-8 surrogate: not UTF-8
        b'"\xff"',
        b'"\xc3"',
        b"\xef\xbb\xbf{}",  # UTF-8 byte-order mark
        "\ufeff{}",
        b"\xff\xfe{\x00}\x00",  # UTF-16
    ],
)
def test_not_utf8_or_with_bom(data: bytes | str) -> None:
    with pytest.raises(MalformedError) as err:
        parse_json(data)
    assert err.value.code == "malformed_json"


@pytest.mark.parametrize("text", ["", "{", '{"a" 1}', "[1,]", '{"a":1} x', "'a'", "{a: 1}", "01"])
def test_not_json(text: str) -> None:
    with pytest.raises(MalformedError) as err:
        parse_json(text)
    assert err.value.code == "malformed_json"


def _nested(n: int, leaf: str = "1") -> str:
    return "[" * n + leaf + "]" * n


def test_depth_limit_boundary() -> None:
    limit = Limits().max_json_depth
    assert parse_json(_nested(limit)) is not None  # a value at depth 32: allowed
    with pytest.raises(MalformedError) as err:
        parse_json(_nested(limit + 1))
    assert err.value.code == "too_deep"
    small = Limits(max_json_depth=2)
    assert parse_json('{"a": [1]}', limits=small) == {"a": [1]}
    with pytest.raises(MalformedError) as err:
        parse_json('{"a": [[1]]}', limits=small)
    assert err.value.code == "too_deep"


@pytest.mark.parametrize("n", [1_000, 10_000, 100_000])
def test_very_deep_nesting_is_a_typed_error(n: int) -> None:
    for text in (_nested(n), '{"a":' * n + "1" + "}" * n):
        with pytest.raises(MalformedError) as err:
            parse_json(text, max_bytes=10 * n + 10)
        assert err.value.code == "too_deep"


def test_size_limit() -> None:
    with pytest.raises(MalformedError) as err:
        parse_json("[1, 2]", max_bytes=5)
    assert err.value.code == "too_large"
    assert parse_json("[1, 2]", max_bytes=6) == [1, 2]
    with pytest.raises(MalformedError) as err:
        parse_json("[" + "1," * 200 + "1]", limits=Limits(max_token_bytes=100))
    assert err.value.code == "too_large"


@pytest.mark.parametrize("text", ["[]", '"x"', "1", "null", "true"])
def test_parse_json_object_wants_an_object(text: str) -> None:
    with pytest.raises(MalformedError) as err:
        parse_json_object(text)
    assert err.value.code == "malformed_json"
    assert parse_json_object("{}") == {}


def test_check_depth() -> None:
    check_depth({"a": [{"b": 1}]}, 3)
    with pytest.raises(MalformedError) as err:
        check_depth({"a": [{"b": 1}]}, 2, "claims")
    assert err.value.code == "too_deep"
    assert "claims" in err.value.message
    deep: Any = 1
    for _ in range(100_000):  # iterative: no RecursionError on a deep Python value
        deep = [deep]
    with pytest.raises(MalformedError):
        check_depth(deep, 32)


def test_canonical_json() -> None:
    value = {"b": [True, None, 1.5], "a": "é", "c": {"z": 1, "y": 2}}
    out = canonical_json(value)
    assert out == '{"a":"é","b":[true,null,1.5],"c":{"y":2,"z":1}}'.encode()
    assert parse_json(out) == value
    assert canonical_json(json.loads(out)) == out
    with pytest.raises(ValueError, match="JSON compliant"):
        canonical_json({"x": float("nan")})
