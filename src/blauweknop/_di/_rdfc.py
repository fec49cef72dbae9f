"""RDF Dataset Canonicalization (RDFC-1.0, W3C Recommendation 2024), bounded.

pyld ships URDNA2015, but hard-wires SHA-256 (the ECDSA suites need SHA-384 for P-384 keys,
VC-DI-ECDSA section 3), does not expose the issued-identifier map in a usable way (ecdsa-sd-2023
needs it, VC-DI-ECDSA 3.4.1) and has no work limit: the rdf-canon poison datasets run for ever
(docs/security.md). This module implements RDFC-1.0 section 4 on a compact quad representation with:

* size limits checked before any hashing (``Limits.max_rdf_quads`` / ``max_blank_nodes``),
* a work budget on the Hash N-Degree Quads algorithm (RDFC-1.0 warns that "poison"
  datasets make it run exponentially long and that implementations should bound the work;
  VC-DI-ECDSA 3 requires aborting on detected poisoning), and
* a wall-clock deadline (``Limits.canonicalization_seconds``),

each raising :class:`~blauweknop.ContextError` with code ``canonicalization_limit``.

Permutations are generated in the reference implementations' order (rdf-canonize, pyld), and
the blank-node-to-quads map is a set as in rdf-canonize, so results match them also for the
rare lists that hold one blank node several times.

A quad is a tuple of four N-Quads terms ``(subject, predicate, object, graph)``; the graph is
``""`` for the default graph. Terms are already in canonical N-Quads syntax (``<iri>``,
``_:label`` or a literal), so serialising is string joining.

Example:
    >>> quads = [("_:x", "<https://ex.org/p>", '"v"', "")]
    >>> result = canonicalize(quads)
    >>> result.issued
    {'_:x': 'c14n0'}
    >>> result.nquads()
    ['_:c14n0 <https://ex.org/p> "v" .\\n']
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .._errors import ContextError, MalformedError
from .._limits import DEFAULT_LIMITS, Limits

__all__ = [
    "CanonicalDataset",
    "Quad",
    "canonicalize",
    "literal",
    "quads_from_pyld",
    "relabel",
    "serialize_quad",
]

Quad = tuple[str, str, str, str]

#: Hash N-Degree Quads work budget: ``_WORK_BASE + _WORK_PER_NODE * blank nodes`` steps
#: (a step is one call or one permutation). Real credentials use a handful; the rdf-canon
#: suite's computable poison tests 044-046 need 3,348 for 12 blank nodes (budget 4,864); its
#: 10-node clique (test074, to be refused) would need hundreds of millions.
_WORK_BASE: Final = 4096
_WORK_PER_NODE: Final = 64

_XSD_STRING: Final = "http://www.w3.org/2001/XMLSchema#string"
_RDF_LANGSTRING: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

# RDFC-1.0 4.4 outputs canonical N-Quads (RDF 1.2 N-Quads section 4): ECHAR for \b \t \n \f \r " \,
# UCHAR (upper-case hex) for the other C0 controls and DEL.
_ESCAPES: dict[int, str] = {c: f"\\u{c:04X}" for c in [*range(0x20), 0x7F]}
_ESCAPES.update(
    {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r", 0x22: '\\"', 0x5C: "\\\\"}
)
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f\x7f"\\]')
# Characters that cannot appear in an IRIREF (RFC 3987 / N-Quads): refuse instead of escaping.
_BAD_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_LANGTAG = re.compile(r"^[a-zA-Z]+(-[a-zA-Z0-9]+)*$")


def _escape(value: str) -> str:
    return value.translate(_ESCAPES) if _NEEDS_ESCAPE.search(value) else value


def iri(value: str) -> str:
    """N-Quads form of an absolute IRI; IRIs with forbidden characters are refused."""
    if _BAD_IRI.search(value):
        raise MalformedError("invalid_iri", f"IRI contains a forbidden character: {value!r:.80}")
    return "<" + value + ">"


def literal(value: str, datatype: str = _XSD_STRING, language: str | None = None) -> str:
    """Canonical N-Quads literal (RDF 1.2 N-Quads section 4, as RDFC-1.0 requires).

    >>> literal("a\\tb")
    '"a\\\\tb"'
    >>> literal("5", "http://www.w3.org/2001/XMLSchema#integer")
    '"5"^^<http://www.w3.org/2001/XMLSchema#integer>'
    """
    body = '"' + _escape(value) + '"'
    if language is not None:
        if not _LANGTAG.match(language):
            raise MalformedError("invalid_literal", f"invalid language tag {language!r}")
        return body + "@" + language
    if datatype == _XSD_STRING:
        return body
    return body + "^^" + iri(datatype)


def serialize_quad(q: Quad) -> str:
    """One canonical N-Quads line, ending in ``" .\\n"``."""
    if q[3]:
        return f"{q[0]} {q[1]} {q[2]} {q[3]} .\n"
    return f"{q[0]} {q[1]} {q[2]} .\n"


def _term(t: Mapping[str, Any]) -> str:
    kind = t.get("type")
    value = t.get("value")
    if not isinstance(value, str):
        raise MalformedError("invalid_rdf", "RDF term without a string value")
    if kind == "IRI":
        return iri(value)
    if kind == "blank node":
        if not value.startswith("_:") or len(value) < 3 or " " in value:
            raise MalformedError("invalid_rdf", f"bad blank node label {value!r}")
        return value
    if kind == "literal":
        dt = t.get("datatype") or _XSD_STRING
        lang = t.get("language")
        if lang is not None or dt == _RDF_LANGSTRING:
            if not isinstance(lang, str):
                raise MalformedError("invalid_rdf", "language-tagged literal without a language")
            return literal(value, _RDF_LANGSTRING, lang)
        return literal(value, dt)
    raise MalformedError("invalid_rdf", f"unknown RDF term type {kind!r}")


def quads_from_pyld(
    dataset: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    rename: Callable[[str], str] | None = None,
) -> list[Quad]:
    """Convert pyld's ``to_rdf`` dataset (``{graph: [triple]}``) into quads.

    ``rename`` may map an IRI term (``<...>``) to another term: ecdsa-sd-2023 uses it to turn
    skolem IRIs back into blank nodes (VC-DI-ECDSA 3.4.6, done on terms, not by regex, so a
    literal that happens to contain a skolem IRI is left alone).
    """
    out: list[Quad] = []
    predicates: dict[str, str] = {}
    for graph_name, triples in dataset.items():
        if graph_name == "@default":
            g = ""
        elif graph_name.startswith("_:"):
            g = graph_name
        else:
            g = iri(graph_name)
        if rename is not None and g.startswith("<"):
            g = rename(g)
        for t in triples:
            s = _term(t["subject"])
            pred = t["predicate"]
            # predicates repeat a lot: skip re-validating the same IRI
            p = predicates.get(pred.get("value"), "") if pred.get("type") == "IRI" else ""
            if not p:
                p = _term(pred)
                if pred.get("type") == "IRI":
                    predicates[pred["value"]] = p
            o = _term(t["object"])
            if rename is not None:
                if s.startswith("<"):
                    s = rename(s)
                if o.startswith("<"):
                    o = rename(o)
            out.append((s, p, o, g))
    return out


@dataclass(frozen=True, slots=True)
class CanonicalDataset:
    """Result of :func:`canonicalize`.

    Attributes:
        quads: the input quads (original blank node labels), de-duplicated.
        issued: input blank node label (``_:b0``) -> canonical label without ``_:`` (``c14n0``).
    """

    quads: tuple[Quad, ...]
    issued: dict[str, str]

    def nquads(self, labels: Mapping[str, str] | None = None) -> list[str]:
        """Sorted canonical N-Quads; ``labels`` optionally maps canonical labels (``c14n0``)
        to replacement labels (VC-DI-ECDSA 3.4.1, label replacement).

        Every canonical label must be in ``labels`` when it is given.
        """
        mapping = {
            old: "_:" + (new if labels is None else labels[new]) for old, new in self.issued.items()
        }
        return sorted(serialize_quad(relabel(q, mapping)) for q in self.quads)

    def serialize(self) -> str:
        """The canonical N-Quads document (RDFC-1.0 section 4.4, serialized canonical form)."""
        return "".join(self.nquads())


def relabel(q: Quad, mapping: Mapping[str, str]) -> Quad:
    """Replace blank node terms (``_:x``) of a quad using ``mapping`` (``_:x`` -> ``_:y``)."""
    s, p, o, g = q
    if s.startswith("_:"):
        s = mapping[s]
    if o.startswith("_:"):
        o = mapping[o]
    if g.startswith("_:"):
        g = mapping[g]
    return (s, p, o, g)


def _permutations(nodes: list[str]) -> Iterator[list[str]]:
    """Permutations in the order of the reference implementations (rdf-canonize, pyld):
    Steinhaus-Johnson-Trotter over the sorted list, with one direction flag per *value*.

    RDFC-1.0 4.8.3 step 5.4 only says "each permutation", but the list can hold the same
    blank node several times (it is related through several quads), and then this generator
    yields fewer than all distinct orders. The chosen path is the minimum over what is
    generated, so matching the reference generator is what keeps results interoperable.
    """
    current = sorted(nodes)
    left = dict.fromkeys(current, True)
    last = len(current) - 1
    while True:
        yield list(current)
        k: str | None = None
        pos = 0
        for i, element in enumerate(current):
            if (k is None or element > k) and (
                (left[element] and i > 0 and element > current[i - 1])
                or (not left[element] and i < last and element > current[i + 1])
            ):
                k, pos = element, i
        if k is None:
            return
        swap = pos - 1 if left[k] else pos + 1
        current[pos], current[swap] = current[swap], k
        for element in current:
            if element > k:
                left[element] = not left[element]


class _Issuer:
    """RDFC-1.0 identifier issuer and Issue Identifier algorithm (prefix ``c14n`` or ``b``)."""

    __slots__ = ("issued", "order", "prefix")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.issued: dict[str, str] = {}
        self.order: list[str] = []

    def issue(self, existing: str) -> str:
        got = self.issued.get(existing)
        if got is None:
            got = self.prefix + str(len(self.order))
            self.issued[existing] = got
            self.order.append(existing)
        return got

    def copy(self) -> _Issuer:
        c = _Issuer(self.prefix)
        c.issued = dict(self.issued)
        c.order = list(self.order)
        return c


class _State:
    def __init__(
        self,
        quads: Sequence[Quad],
        hash_name: str,
        limits: Limits,
        started: float,
        max_work: int | None,
    ) -> None:
        self.hash_name = hash_name
        self._hash = hashlib.sha384 if hash_name == "sha384" else hashlib.sha256
        self.deadline = started + limits.canonicalization_seconds
        self.bnode_quads: dict[str, list[Quad]] = {}
        for q in quads:
            for term in (q[0], q[2], q[3]):
                if term.startswith("_:"):
                    lst = self.bnode_quads.setdefault(term, [])
                    if not lst or lst[-1] is not q:
                        lst.append(q)
        if len(self.bnode_quads) > limits.max_blank_nodes:
            raise ContextError(
                "canonicalization_limit",
                f"{len(self.bnode_quads)} blank nodes exceed the limit of {limits.max_blank_nodes}",
            )
        self.canonical = _Issuer("c14n")
        self.first_degree: dict[str, str] = {}
        self.work_left = (
            _WORK_BASE + _WORK_PER_NODE * len(self.bnode_quads) if max_work is None else max_work
        )

    def digest(self, data: str) -> str:
        return self._hash(data.encode("utf-8")).hexdigest()

    def spend(self) -> None:
        self.work_left -= 1
        if self.work_left < 0:
            raise ContextError(
                "canonicalization_limit",
                "canonicalization needs too much work (poisoned dataset?)",
            )
        if self.work_left % 64 == 0 and time.monotonic() > self.deadline:
            raise ContextError("canonicalization_limit", "canonicalization took too long")

    # RDFC-1.0 section 4.6 Hash First Degree Quads
    def hash_first_degree(self, bnode: str) -> str:
        cached = self.first_degree.get(bnode)
        if cached is not None:
            return cached
        lines = []
        for s, p, o, g in self.bnode_quads[bnode]:
            if s[:2] == "_:":
                s = "_:a" if s == bnode else "_:z"
            if o[:2] == "_:":
                o = "_:a" if o == bnode else "_:z"
            if g:
                if g[:2] == "_:":
                    g = "_:a" if g == bnode else "_:z"
                lines.append(f"{s} {p} {o} {g} .\n")
            else:
                lines.append(f"{s} {p} {o} .\n")
        lines.sort()
        h = self.digest("".join(lines))
        self.first_degree[bnode] = h
        return h

    # RDFC-1.0 section 4.7 Hash Related Blank Node
    def hash_related(self, related: str, q: Quad, issuer: _Issuer, position: str) -> str:
        if related in self.canonical.issued:
            ident = "_:" + self.canonical.issued[related]
        elif related in issuer.issued:
            ident = "_:" + issuer.issued[related]
        else:
            ident = self.hash_first_degree(related)
        if position == "g":
            return self.digest(position + ident)
        return self.digest(position + q[1] + ident)

    # RDFC-1.0 section 4.8 Hash N-Degree Quads
    def hash_n_degree(self, bnode: str, issuer: _Issuer) -> tuple[str, _Issuer]:
        self.spend()
        related_map: dict[str, list[str]] = {}
        for q in self.bnode_quads[bnode]:
            for term, position in ((q[0], "s"), (q[2], "o"), (q[3], "g")):
                if term.startswith("_:") and term != bnode:
                    h = self.hash_related(term, q, issuer, position)
                    related_map.setdefault(h, []).append(term)
        data = []
        for related_hash in sorted(related_map):
            data.append(related_hash)
            chosen_path = ""
            chosen_issuer: _Issuer | None = None
            for permutation in _permutations(related_map[related_hash]):
                self.spend()
                issuer_copy = issuer.copy()
                path = ""
                recursion: list[str] = []
                skip = False
                for related in permutation:
                    canon = self.canonical.issued.get(related)
                    if canon is not None:
                        path += "_:" + canon
                    else:
                        if related not in issuer_copy.issued:
                            recursion.append(related)
                        path += "_:" + issuer_copy.issue(related)
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                for related in recursion:
                    result_hash, issuer_copy = self.hash_n_degree(related, issuer_copy)
                    path += "_:" + issuer_copy.issue(related) + "<" + result_hash + ">"
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                if not chosen_path or path < chosen_path:
                    chosen_path = path
                    chosen_issuer = issuer_copy
            data.append(chosen_path)
            assert chosen_issuer is not None
            issuer = chosen_issuer
        return self.digest("".join(data)), issuer


def canonicalize(
    quads: Iterable[Quad],
    *,
    hash_name: str = "sha256",
    limits: Limits = DEFAULT_LIMITS,
    max_work: int | None = None,
) -> CanonicalDataset:
    """RDFC-1.0 section 4.4 (Canonicalization Algorithm) with resource limits.

    Args:
        quads: the dataset; duplicates are removed (an RDF dataset is a set).
        hash_name: ``"sha256"`` (default) or ``"sha384"`` (VC-DI-ECDSA 3: P-384 keys).
        limits: quad, blank node and time limits.
        max_work: Hash N-Degree Quads budget (calls + permutations); default
            ``4096 + 64 * blank nodes``. Ordinary credentials need a few per blank node; a
            5-node clique needs ~4,600, a 10-node clique hundreds of millions.

    Raises:
        ContextError: ``canonicalization_limit`` when a limit is exceeded.
    """
    if hash_name not in ("sha256", "sha384"):
        raise ValueError(f"unsupported RDFC-1.0 hash {hash_name}")
    started = time.monotonic()
    unique: dict[Quad, None] = {}
    for q in quads:
        unique[q] = None
        if len(unique) > limits.max_rdf_quads:
            raise ContextError(
                "canonicalization_limit", f"more than {limits.max_rdf_quads} RDF statements"
            )
    data = tuple(unique)
    state = _State(data, hash_name, limits, started, max_work)
    # 4.4 step 3: first-degree hashes.
    by_hash: dict[str, list[str]] = {}
    for bnode in state.bnode_quads:
        by_hash.setdefault(state.hash_first_degree(bnode), []).append(bnode)
    # step 4: unique hashes get canonical identifiers in hash order.
    shared: list[tuple[str, list[str]]] = []
    for h in sorted(by_hash):
        nodes = by_hash[h]
        if len(nodes) == 1:
            state.canonical.issue(nodes[0])
        else:
            shared.append((h, nodes))
    # step 5: N-degree hashing for the rest.
    for _h, nodes in shared:
        paths: list[tuple[str, _Issuer]] = []
        for bnode in nodes:
            if bnode in state.canonical.issued:
                continue
            temp = _Issuer("b")
            temp.issue(bnode)
            paths.append(state.hash_n_degree(bnode, temp))
        for _result_hash, issuer in sorted(paths, key=lambda r: r[0]):
            for existing in issuer.order:
                state.canonical.issue(existing)
    return CanonicalDataset(data, dict(state.canonical.issued))
