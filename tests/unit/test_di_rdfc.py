"""RDFC-1.0 canonicalization: results, resource bounds, poisoned datasets.

Expected results: canonical output equal to pyld's URDNA2015 (same algorithm) on ordinary and
symmetric datasets; the rdf-canon poison shape (a blank-node clique, like test074) refused
with ``canonicalization_limit`` in well under a second, also when it arrives as a JSON-LD
document to verify; quad, blank-node and time limits enforced; literals escaped as canonical
N-Quads require.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from pyld import jsonld

from blauweknop import ContextError, Key, Limits
from blauweknop._di import CREDENTIALS_V2, add_proof, verify_proof
from blauweknop._di._rdfc import canonicalize, literal, serialize_quad

P = "<http://example.org/p>"
Q = "<http://example.org/q>"


def clique(n: int, prefix: str = "n") -> list[tuple[str, str, str, str]]:
    """test074-style poison: every blank node linked to every other one."""
    return [
        (f"_:{prefix}{i}", P, f"_:{prefix}{j}", "") for i in range(n) for j in range(n) if i != j
    ]


def _pyld(quads: list[tuple[str, str, str, str]]) -> str:
    text = "".join(serialize_quad(q) for q in quads)
    out = jsonld.normalize(
        text,
        {
            "algorithm": "URDNA2015",
            "inputFormat": "application/n-quads",
            "format": "application/n-quads",
        },
    )
    assert isinstance(out, str)
    return out


@pytest.mark.parametrize(
    "quads",
    [
        [("_:x", P, '"v"', "")],
        [("_:a", P, "_:b", ""), ("_:b", P, "_:a", "")],
        [("_:a", P, "_:b", ""), ("_:b", Q, "_:c", ""), ("_:c", P, "_:a", "")],
        [("<http://ex.org/s>", P, "_:a", "_:g"), ("_:a", Q, '"1"', "_:g"), ("_:g", P, "_:a", "")],
        [(f"_:r{i}", P, f"_:r{(i + 1) % 6}", "") for i in range(6)],
        clique(4),
        [("_:a", P, "_:a", ""), ("_:b", P, "_:b", "")],
    ],
    ids=["single", "pair", "triangle", "graph-name", "ring", "clique4", "self-loops"],
)
def test_same_result_as_pyld_urdna2015(quads: list[tuple[str, str, str, str]]) -> None:
    assert canonicalize(quads).serialize() == _pyld(quads)


def test_issued_map_and_relabelling() -> None:
    result = canonicalize([("_:x", P, "_:y", ""), ("_:y", Q, '"leaf"', "")])
    assert sorted(result.issued.values()) == ["c14n0", "c14n1"]
    relabelled = result.nquads({"c14n0": "uA", "c14n1": "uB"})
    assert all("_:u" in line for line in relabelled)
    assert relabelled == sorted(relabelled)


def test_sha384_changes_only_the_hash() -> None:
    quads = [("_:a", P, "_:b", ""), ("_:b", Q, '"x"', "")]
    assert len(canonicalize(quads, hash_name="sha384").issued) == 2


def test_duplicate_quads_collapse() -> None:
    q = ("_:a", P, '"x"', "")
    assert canonicalize([q, q]).nquads() == ['_:c14n0 <http://example.org/p> "x" .\n']


def test_poisoned_clique_is_refused_fast() -> None:
    started = time.monotonic()
    with pytest.raises(ContextError) as e:
        canonicalize(clique(10))  # 90 quads; unbounded, this runs for hours
    assert e.value.code == "canonicalization_limit"
    assert time.monotonic() - started < 1.0


def test_several_poisoned_cliques_are_refused_fast() -> None:
    quads = clique(7, "a") + clique(5, "b")  # 62 quads
    started = time.monotonic()
    with pytest.raises(ContextError):
        canonicalize(quads)
    assert time.monotonic() - started < 1.0


def test_time_limit_is_enforced() -> None:
    with pytest.raises(ContextError) as e:
        canonicalize(clique(6), limits=Limits(canonicalization_seconds=0.0), max_work=10**9)
    assert e.value.code == "canonicalization_limit"
    assert "too long" in e.value.message


def test_work_limit_can_be_raised_for_small_symmetric_graphs() -> None:
    quads = clique(5)
    with pytest.raises(ContextError):
        canonicalize(quads)
    assert canonicalize(quads, max_work=100_000).serialize() == _pyld(quads)


def test_blank_node_and_quad_limits() -> None:
    quads = [(f"_:b{i}", P, f'"{i}"', "") for i in range(10)]
    with pytest.raises(ContextError) as e:
        canonicalize(quads, limits=Limits(max_blank_nodes=9))
    assert e.value.code == "canonicalization_limit"
    with pytest.raises(ContextError) as e:
        canonicalize(quads, limits=Limits(max_rdf_quads=9))
    assert e.value.code == "canonicalization_limit"
    assert len(canonicalize(quads, limits=Limits(max_blank_nodes=10)).issued) == 10


def _poison_document(n: int) -> dict[str, Any]:
    # ``aud`` is an @id-typed term of the VC 2.0 context: blank nodes pointing at each other
    nodes = [{"id": f"_:n{i}", "aud": [f"_:n{j}" for j in range(n) if j != i]} for i in range(n)]
    return {"@context": [CREDENTIALS_V2], "@graph": nodes}


def test_poisoned_json_ld_document_is_refused_fast(no_network: list[Any]) -> None:
    key = Key.generate("ES256")
    started = time.monotonic()
    with pytest.raises(ContextError) as e:
        add_proof(
            _poison_document(10), key, cryptosuite="ecdsa-rdfc-2019", verification_method="urn:k"
        )
    assert e.value.code == "canonicalization_limit"
    # a verifier receiving it with any proof refuses it the same way, before any signature work
    small = add_proof(
        _poison_document(3), key, cryptosuite="ecdsa-rdfc-2019", verification_method="urn:k"
    )
    poisoned = {**_poison_document(10), "proof": small["proof"]}
    with pytest.raises(ContextError) as e:
        verify_proof(poisoned, resolve_key=lambda vm: key.public())
    assert e.value.code == "canonicalization_limit"
    assert time.monotonic() - started < 2.0


def test_literal_escapes_follow_canonical_n_quads() -> None:
    assert literal('a"b\\c') == '"a\\"b\\\\c"'
    assert literal("l1\nl2\rt\tb\bf\f") == '"l1\\nl2\\rt\\tb\\bf\\f"'
    assert literal("\x00\x07\x0b\x1f\x7f") == '"\\u0000\\u0007\\u000B\\u001F\\u007F"'
    assert literal("één €") == '"één €"'
    assert literal("x", language="nl-NL") == '"x"@nl-NL'
    assert literal("5", "http://www.w3.org/2001/XMLSchema#integer") == (
        '"5"^^<http://www.w3.org/2001/XMLSchema#integer>'
    )
