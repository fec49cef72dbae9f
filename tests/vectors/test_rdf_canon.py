"""The W3C RDFC-1.0 test suite (w3c/rdf-canon, ``tests/``), one test per manifest entry.

Source and expected results: ``data/rdf-canon/PROVENANCE.md``. Evaluation tests compare the
canonical N-Quads byte for byte, map tests the issued identifiers, and the negative test
(``test074``, a 10-node clique) must be refused by the default work budget. The poison tests
044-046 are computable and must pass with the default limits.

The N-Quads inputs are parsed here (a small parser for the suite's files, independent of the
library); literals are rebuilt with :func:`~blauweknop._di._rdfc.literal`, which writes the
canonical escapes RDFC-1.0 requires.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from blauweknop import ContextError
from blauweknop._di._rdfc import Quad, canonicalize, literal

DATA = Path(__file__).parent / "data" / "rdf-canon"
MANIFEST: dict[str, Any] = json.loads((DATA / "manifest.jsonld").read_text(encoding="utf-8"))
ENTRIES: list[dict[str, Any]] = MANIFEST["entries"]

_IRI = r"<([^>]*)>"
_BNODE = r"(_:[A-Za-z0-9_][A-Za-z0-9_.\-]*)"
_LITERAL = r'"((?:[^"\\]|\\.)*)"(?:\^\^<([^>]*)>|@([A-Za-z]+(?:-[A-Za-z0-9]+)*))?'
_TERM = re.compile(rf"\s*(?:{_IRI}|{_BNODE}|{_LITERAL})")
_ECHAR = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_UCHAR = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))")
_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


def _unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group(3) is not None:
            return _ECHAR[m.group(3)]
        return chr(int(m.group(1) or m.group(2), 16))

    return _UCHAR.sub(one, text)


def _term(m: re.Match[str]) -> str:
    iri, bnode, lexical, datatype, language = m.groups()
    if iri is not None:
        return f"<{_unescape(iri)}>"
    if bnode is not None:
        return str(bnode)
    value = _unescape(lexical)
    if language is not None:
        return literal(value, _LANGSTRING, language)
    return literal(value, _unescape(datatype)) if datatype else literal(value)


def parse_nquads(text: str) -> list[Quad]:
    """The quads of an N-Quads document (subject, predicate, object, graph or ``""``)."""
    quads: list[Quad] = []
    for line in text.splitlines():
        rest = line.strip()
        if not rest or rest.startswith("#"):
            continue
        terms: list[str] = []
        while not rest.startswith("."):
            m = _TERM.match(rest)
            assert m is not None, f"cannot parse N-Quads line {line!r}"
            terms.append(_term(m))
            rest = rest[m.end() :].lstrip()
        assert len(terms) in (3, 4), line
        quads.append((terms[0], terms[1], terms[2], terms[3] if len(terms) == 4 else ""))
    return quads


def _hash(entry: dict[str, Any]) -> str:
    return "sha384" if entry.get("hashAlgorithm") == "SHA384" else "sha256"


def _input(entry: dict[str, Any]) -> list[Quad]:
    return parse_nquads((DATA / entry["action"]).read_text(encoding="utf-8"))


def _ids(kind: str) -> list[Any]:
    return [
        pytest.param(e, id=f"{e['id'].lstrip('#')}: {e['name']}")
        for e in ENTRIES
        if e["type"] == kind
    ]


def test_the_whole_manifest_is_covered() -> None:
    kinds = {e["type"] for e in ENTRIES}
    assert kinds == {"rdfc:RDFC10EvalTest", "rdfc:RDFC10MapTest", "rdfc:RDFC10NegativeEvalTest"}
    assert len(ENTRIES) == 86
    for e in ENTRIES:
        assert (DATA / e["action"]).is_file()


@pytest.mark.parametrize("entry", _ids("rdfc:RDFC10EvalTest"))
def test_eval(entry: dict[str, Any]) -> None:
    expected = (DATA / entry["result"]).read_text(encoding="utf-8")
    got = canonicalize(_input(entry), hash_name=_hash(entry)).serialize()
    assert got == expected


@pytest.mark.parametrize("entry", _ids("rdfc:RDFC10MapTest"))
def test_issued_identifiers_map(entry: dict[str, Any]) -> None:
    expected = json.loads((DATA / entry["result"]).read_text(encoding="utf-8"))
    issued = canonicalize(_input(entry), hash_name=_hash(entry)).issued
    assert {k.removeprefix("_:"): v for k, v in issued.items()} == expected


@pytest.mark.parametrize("entry", _ids("rdfc:RDFC10NegativeEvalTest"))
def test_negative_eval_is_refused_quickly(entry: dict[str, Any]) -> None:
    started = time.monotonic()
    with pytest.raises(ContextError) as e:
        canonicalize(_input(entry), hash_name=_hash(entry))
    assert e.value.code == "canonicalization_limit"
    assert time.monotonic() - started < 2.0


def test_the_poison_tests_are_in_the_suite() -> None:
    """044-046 ("computable given defined limits") are eval tests the default budget must
    pass; 074 is the negative one."""
    by_id = {e["id"]: e for e in ENTRIES}
    for n in ("044", "045", "046"):
        assert by_id[f"#test{n}c"]["type"] == "rdfc:RDFC10EvalTest"
    assert by_id["#test074c"]["type"] == "rdfc:RDFC10NegativeEvalTest"
