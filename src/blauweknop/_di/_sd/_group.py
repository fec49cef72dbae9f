"""Canonicalize and group for ``ecdsa-sd-2023`` (VC-DI-ECDSA 3.4.4, 3.4.7 - 3.4.17).

The document is skolemized (its blank nodes become ``urn:bnid:`` IRIs, 3.4.7) so that JSON
Pointer selections of it (3.4.13) keep their blank node identities, canonicalized with
RDFC-1.0, and its blank node labels replaced by HMAC-derived labels (3.4.4) so they do not
leak the document's shape. Each named group of pointers then splits the canonical N-Quads
into matching and non-matching statements (3.4.16); the mandatory ones are hashed
(3.4.17).

Example:
    >>> hash_mandatory({1: "b", 0: "a"}) == hash_mandatory(["a", "b"])
    True
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..._codec import b64u_encode
from ..._errors import DisclosureError, MalformedError
from ..._limits import Limits
from .. import _compiled
from .._common import json_copy
from .._jsonld import check_contexts, compact, document_quads, expand, to_quads, try_compiled
from .._loader import OfflineLoader
from .._pointers import select_json_ld
from .._rdfc import CanonicalDataset, Quad, canonicalize, relabel, serialize_quad

__all__ = ["canonicalize_and_group", "hash_mandatory", "mandatory_claims"]


def _shape(value: Any, *, ignore_context: bool = False) -> Any:
    """``value`` with one-element arrays read as their element (compaction's only reshaping
    of well-formed documents) and, at the top, without ``@context``."""
    if isinstance(value, list):
        return _shape(value[0]) if len(value) == 1 else [_shape(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _shape(v) for k, v in value.items() if not (ignore_context and k == "@context")}
    return value


class _Skolem:
    """Skolemization with a per-call random URN prefix (VC-DI-ECDSA 3.4.7 / 3.4.6).

    Blank nodes become ``urn:bnid:<random>:<label>`` IRIs and come back as ``_:<label>``.
    Turning IRIs back into blank nodes is done on RDF terms, never on N-Quad text.
    """

    def __init__(self) -> None:
        self.prefix = f"urn:bnid:{uuid.uuid4().hex}:"
        self._iri_prefix = "<" + self.prefix
        self._count = 0

    def skolemize(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.skolemize(v) for v in value]
        if not isinstance(value, dict) or "@value" in value:
            return json_copy(value)
        if "@list" in value:
            return {k: (self.skolemize(v) if k == "@list" else v) for k, v in value.items()}
        out: dict[str, Any] = {}
        for k, v in value.items():
            out[k] = v if k in ("@id", "@type") else self.skolemize(v)
        ident = out.get("@id")
        if ident is None:
            out["@id"] = f"{self.prefix}g{self._count}"
            self._count += 1
        elif isinstance(ident, str) and ident.startswith("_:"):
            out["@id"] = self.prefix + "e" + ident[2:]
        return out

    def strip(self, value: Any) -> Any:
        """Compact JSON without the ``id`` members this skolemizer added and with the
        document's own blank node identifiers restored."""
        if isinstance(value, list):
            return [self.strip(v) for v in value]
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if k == "id" and isinstance(v, str) and v.startswith(self.prefix):
                    if v.startswith(self.prefix + "g"):
                        continue
                    v = "_:" + v[len(self.prefix) + 1 :]
                out[k] = self.strip(v)
            return out
        return value

    def deskolemize(self, term: str) -> str:
        if term.startswith(self._iri_prefix):
            return "_:" + term[len(self._iri_prefix) : -1]
        return term


@dataclass(frozen=True, slots=True)
class _Group:
    matching: dict[int, str]
    non_matching: dict[int, str]
    deskolemized: list[Quad]


@dataclass(frozen=True, slots=True)
class _Grouped:
    canonical: CanonicalDataset  # the document's quads with c14n labels
    nquads: list[str]  # canonical N-Quads with HMAC labels, sorted
    label_map: dict[str, str]  # input blank node (_:x) -> replacement label (u...)
    groups: dict[str, _Group]


def _hmac_labels(hmac_key: bytes, canonical: CanonicalDataset) -> dict[str, str]:
    """VC-DI-ECDSA 3.4.4 createHmacIdLabelMapFunction: c14nN -> u + b64url(HMAC(c14nN))."""
    return {
        c14n: "u" + b64u_encode(hmac.new(hmac_key, c14n.encode("utf-8"), hashlib.sha256).digest())
        for c14n in canonical.issued.values()
    }


def canonicalize_and_group(
    document: Mapping[str, Any],
    hmac_key: bytes,
    groups: Mapping[str, Sequence[str]],
    loader: OfflineLoader,
    limits: Limits,
) -> _Grouped:
    """VC-DI-ECDSA 3.4.16 canonicalizeAndGroup with the HMAC label map factory."""
    sk = _Skolem()
    check_contexts(document, loader, limits)
    walk = try_compiled(document, loader, skolem=sk)
    verdicts = _compiled.verdicts(loader)
    if walk is not None and verdicts.get(("group", walk.skeleton)) is True:
        # the compiled walk gives the skolemized quads and compact form directly; the shape
        # check below depends only on the skeleton, and pyld passed it for this skeleton
        sk_compact = walk.sk_compact
        quads = walk.quads
    else:
        sk_compact, quads = _skolemize_pyld(document, sk, loader, limits)
        if walk is not None:
            verdicts.put(("group", walk.skeleton), True)
    canonical = canonicalize(quads, limits=limits)
    hmac_of = _hmac_labels(hmac_key, canonical)
    label_map = {old: hmac_of[c14n] for old, c14n in canonical.issued.items()}
    nquads = canonical.nquads(hmac_of)
    bnode_map = {old: "_:" + new for old, new in label_map.items()}
    out: dict[str, _Group] = {}
    for name, pointers in groups.items():
        selected: set[str] = set()
        deskolemized: list[Quad] = []
        selection = select_json_ld(pointers, sk_compact)
        if selection is not None:
            deskolemized = document_quads(selection, loader, limits, rename=sk.deskolemize)
            try:
                selected = {serialize_quad(relabel(q, bnode_map)) for q in deskolemized}
            except KeyError as e:
                raise MalformedError(
                    "selection_unsupported", "a selection produced a blank node of its own"
                ) from e
        matching = {i: nq for i, nq in enumerate(nquads) if nq in selected}
        non_matching = {i: nq for i, nq in enumerate(nquads) if nq not in selected}
        out[name] = _Group(matching, non_matching, deskolemized)
    return _Grouped(canonical, nquads, label_map, out)


def _skolemize_pyld(
    document: Mapping[str, Any], sk: _Skolem, loader: OfflineLoader, limits: Limits
) -> tuple[Any, list[Quad]]:
    """VC-DI-ECDSA 3.4.7 skolemization through pyld: the skolemized compact form and the
    deskolemized quads; refuses documents not in the compact form of their context."""
    expanded = expand(document, loader, limits)
    sk_expanded = sk.skolemize(expanded)
    sk_compact = compact(sk_expanded, document["@context"], loader)
    # Pointers are evaluated on the skolemized compact form but the reveal document is cut
    # from the original: both must have the same shape, or the proof would not fit it.
    if _shape(sk.strip(sk_compact), ignore_context=True) != _shape(document, ignore_context=True):
        raise MalformedError(
            "not_compact_form",
            "the document is not in the compact form of its own @context (full IRIs as keys, "
            "aliases, values compaction would merge); selective disclosure needs that form",
        )
    return sk_compact, to_quads(sk_expanded, loader, rename=sk.deskolemize)


def hash_mandatory(mandatory: Mapping[int, str] | Sequence[str]) -> bytes:
    """VC-DI-ECDSA 3.4.17 hashMandatoryNQuads (SHA-256, P-256 only)."""
    lines = (
        [mandatory[i] for i in sorted(mandatory)] if isinstance(mandatory, Mapping) else mandatory
    )
    return hashlib.sha256("".join(lines).encode("utf-8")).digest()


@contextlib.contextmanager
def mandatory_claims() -> Iterator[None]:
    """Inside, a ``DisclosureError`` (a mandatory pointer of the base proof that matches
    nothing in the document) becomes ``mandatory_pointer_missing`` (VC-DI-ECDSA 3.5.4 step 3
    and 3.6.2 on the holder's and the verifier's side alike)."""
    try:
        yield
    except DisclosureError as e:
        raise DisclosureError(
            "mandatory_pointer_missing", f"the document lacks a mandatory claim: {e.message}"
        ) from e
