"""IETF Token Status List test vectors (oauth-wg/draft-ietf-oauth-status-list @ 2fb61cd).

Each vector file and its expected result is listed in data/status-list/PROVENANCE.md. The
JSON forms must encode byte for byte (zlib level 9 reproduces them) and decode to the
statuses of the draft's section "Test vectors for Status List encoding"; the CBOR forms
decode to the same lists.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import cbor2
import pytest

from blauweknop._codec import b64u_decode
from blauweknop._errors import StatusError
from blauweknop._jws import parse_compact
from blauweknop._keys import Key
from blauweknop._status import StatusList, verify_status_list_token

DATA = Path(__file__).parent / "data" / "status-list"
EXPECTED = json.loads((DATA / "expected-statuses.json").read_text())


def _json_vector(name: str) -> dict[str, Any]:
    """The JSON object in a vector file; long `lst` values are wrapped over several lines."""
    text = (DATA / name).read_text()
    body = text[text.index("{") :]
    body = re.sub(r'"lst": "([^"]*)"', lambda m: '"lst": "' + re.sub(r"\s+", "", m[1]) + '"', body)
    obj: dict[str, Any] = json.loads(body)
    return obj


def _byte_array(name: str) -> bytes:
    m = re.search(r"byte_array = \[([^\]]*)\]", (DATA / name).read_text())
    assert m
    return bytes(int(x, 16) for x in m[1].split(","))


def _hex(name: str) -> bytes:
    text = (DATA / name).read_text()
    if "encoded:" in text:
        text = text.split("encoded:", 1)[1]
    return bytes.fromhex(re.sub(r"\s+", "", text))


def _expected_list(bits: int) -> StatusList:
    sl = StatusList(EXPECTED["size"], bits)
    for idx, value in EXPECTED["lists"][str(bits)].items():
        sl.set(int(idx), value)
    return sl


LONG_JSON = {
    1: "status_list_encoding1_long_json.md",
    2: "status_list_encoding2_long_json.md",
    4: "status_list_encoding4_json.md",
    8: "status_list_encoding8_json.md",
}
LONG_CBOR = {
    1: "status_list_encoding1_long_cbor.md",
    2: "status_list_encoding2_long_cbor.md",
    4: "status_list_encoding4_cbor.md",
    8: "status_list_encoding8_cbor.md",
}
SMALL = [
    (1, "status_list_encoding_json.md", "status_list_encoding_cbor.md"),
    (2, "status_list_encoding2_json.md", "status_list_encoding2_cbor.md"),
]


@pytest.mark.parametrize(("bits", "json_name", "cbor_name"), SMALL)
def test_small_examples_encode_and_decode(bits: int, json_name: str, cbor_name: str) -> None:
    raw = _byte_array(json_name)
    vector = _json_vector(json_name)
    sl = StatusList.from_bytes(raw, bits)
    assert sl.to_json() == vector  # byte for byte, zlib level 9
    decoded = StatusList.from_json(vector)
    assert decoded.to_bytes() == raw
    cbor = cbor2.loads(_hex(cbor_name))
    assert cbor["bits"] == bits
    assert StatusList.from_compressed(cbor["lst"], bits).to_bytes() == raw
    assert cbor2.dumps({"bits": bits, "lst": sl.compressed()}) == _hex(cbor_name)


def test_small_examples_match_the_drawn_statuses() -> None:
    """The figures of section "Status List": status[i] for the 1-bit and 2-bit examples."""
    one = StatusList.from_json(_json_vector("status_list_encoding_json.md"))
    assert [one.get(i) for i in range(16)] == [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
    two = StatusList.from_json(_json_vector("status_list_encoding2_json.md"))
    assert [two.get(i) for i in range(12)] == [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_long_json_vectors_encode_byte_for_byte(bits: int) -> None:
    assert _expected_list(bits).to_json() == _json_vector(LONG_JSON[bits])


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_long_json_vectors_decode(bits: int) -> None:
    decoded = StatusList.from_json(_json_vector(LONG_JSON[bits]))
    assert decoded.bits == bits
    assert decoded.size == EXPECTED["size"]
    assert decoded == _expected_list(bits)
    for idx, value in EXPECTED["lists"][str(bits)].items():
        assert decoded.get(int(idx)) == value


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_long_cbor_vectors_decode(bits: int) -> None:
    cbor = cbor2.loads(_hex(LONG_CBOR[bits]))
    assert set(cbor) == {"bits", "lst"}
    assert cbor["bits"] == bits
    assert StatusList.from_compressed(cbor["lst"], bits) == _expected_list(bits)
    # the CBOR lst is the same compressed array as the JSON one
    assert cbor["lst"] == b64u_decode(_json_vector(LONG_JSON[bits])["lst"])


def _raw_jwt() -> str:
    return re.sub(r"\s+", "", (DATA / "status_list_jwt_raw.md").read_text())


def test_status_list_jwt_example_parses() -> None:
    parsed = parse_compact(_raw_jwt(), typ="statuslist+jwt")
    claims = parsed.payload_json()
    assert claims["sub"] == "https://example.com/statuslists/1"
    assert claims["ttl"] == 43200
    assert StatusList.from_json(claims["status_list"]).to_bytes() == bytes([0xB9, 0xA3])
    # the non-raw example shows the same header and claims (minus iss)
    shown = (DATA / "status_list_jwt.md").read_text()
    assert '"typ": "statuslist+jwt"' in shown
    assert '"lst": "eNrbuRgAAhcBXQ"' in shown


def test_status_list_jwt_example_refused_with_another_key() -> None:
    """We do not hold the draft's key: any other key must refuse the signature."""
    with pytest.raises(StatusError) as ei:
        verify_status_list_token(
            _raw_jwt(),
            key=Key.generate(),
            expected_uri="https://example.com/statuslists/1",
            now=1686920170 + 60,
        )
    assert ei.value.code == "status_invalid"


def test_status_list_cwt_examples_decode() -> None:
    """CWT forms: only the embedded status list is checked (we do not implement COSE)."""
    tag = cbor2.loads(_hex("status_list_cwt.md"))
    assert tag.tag == 18
    protected, _unprotected, payload, signature = tag.value
    assert cbor2.loads(protected)[16] == "application/statuslist+cwt"
    claims = cbor2.loads(payload)
    assert claims[2] == "https://example.com/statuslists/1"
    status_list = claims[65533]
    assert StatusList.from_compressed(status_list["lst"], status_list["bits"]).to_bytes() == bytes(
        [0xB9, 0xA3]
    )
    assert len(signature) == 64

    ref = cbor2.loads(_hex("referenced_token_cwt.md"))
    ref_claims = cbor2.loads(ref.value[2])
    # claim 65535 = status: {"status_list": {"idx": 0, "uri": ...}}
    assert ref_claims[65535]["status_list"] == {
        "idx": 0,
        "uri": "https://example.com/statuslists/1",
    }
    assert StatusList.from_json(_json_vector("status_list_encoding_json.md")).get(0) == 1
