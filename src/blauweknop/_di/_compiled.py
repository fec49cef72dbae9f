"""A compiled JSON-LD to RDF path for documents in our own bundled contexts.

pyld's expansion and toRdf are general and slow: most of a Data Integrity proof's time. For
the documents this library issues and verifies (VC 2.0 credentials and presentations in the
bundled, pinned contexts) this module walks the compact JSON once and produces exactly the
quads pyld produces (JSON-LD 1.1 Expansion 5.1.2 followed by Deserialize JSON-LD to RDF 8.1,
with pyld's blank node labels and quad order), or it *declines* and the caller takes the pyld
path. It never guesses: anything outside the modelled subset declines.

Modelled: one ``@context`` at the top (allow-listed URLs only, checked before as on the pyld
path); terms the active context defines as absolute IRIs; type-scoped (non-propagating) and
property-scoped contexts; ``@type: @id`` / ``@vocab`` / datatype coercion; ``@set`` and
``@graph`` containers; ``id`` / ``type`` aliases; node objects, arrays, strings, booleans and
numbers (JSON-LD's canonical literal rules, taken from pyld's own helpers). Declined: any
other keyword key (``@graph``, ``@value``, ``@list``, ``@included``, ...), embedded
``@context``, compact or absolute IRIs as keys, terms whose IRI is not defined by an allowed
context (:meth:`OfflineLoader.is_defined`), relative or malformed IRIs, blank node types,
``@language`` / ``@direction`` (term or default), ``@vocab``, ``@base``, ``@list`` /
``@index`` / ``@language`` / ``@id`` / ``@type`` containers, ``@json``, reverse terms, two keys
expanding to one IRI in one node, nested arrays, non-finite numbers, nulls.

Context processing itself is pyld's (:meth:`_jsonld._Processor._process_context`, with the
loader's pins and allow-list): each active context reached is wrapped once in a
:class:`_State` that memoises the term look-ups and the transitions (type-scoped,
property-scoped, revert), so a document costs dictionary look-ups, not context processing.
The states live per loader (a tampered test loader never shares them with the production
one).

Besides the quads, a walk reports what :func:`_jsonld.check_compact_form` and the
``ecdsa-sd-2023`` grouping need: the number of values (each property value and each type is
one statement), whether every literal is in the native JSON form of its datatype, and a
*skeleton*: the document with literal values replaced by their JSON type and IRI references
that no context term could compact replaced by a placeholder. JSON-LD compaction of a
document in this subset depends only on its skeleton (term selection looks at containers,
datatypes and at IRIs only where a term or prefix could match them), so a compaction verdict
found once by pyld holds for every document with the same skeleton (:class:`VerdictCache`).

Example:
    >>> from blauweknop._di._loader import OfflineLoader
    >>> doc = {"@context": ["https://www.w3.org/ns/credentials/v2"],
    ...        "type": "VerifiableCredential", "issuer": "urn:example:issuer"}
    >>> walk = compile_document(doc, OfflineLoader())
    >>> [q[1] for q in walk.quads]
    ['<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>', '<https://www.w3.org/2018/credentials#issuer>']
"""

from __future__ import annotations

import math
import re
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from pyld import jsonld
from pyld.jsonld import _canonicalize_double, _is_absolute_iri

from .._errors import BlauweKnopError
from ._loader import OfflineLoader
from ._pyld import _Processor
from ._rdfc import Quad, literal

__all__ = [
    "Decline",
    "VerdictCache",
    "Walk",
    "compile_document",
    "disabled",
    "enabled",
    "set_enabled",
    "verdicts",
]

_XSD: Final = "http://www.w3.org/2001/XMLSchema#"
_XSD_BOOLEAN: Final = _XSD + "boolean"
_XSD_DOUBLE: Final = _XSD + "double"
_XSD_INTEGER: Final = _XSD + "integer"
_XSD_STRING: Final = _XSD + "string"
_RDF_LANGSTRING: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_RDF_TYPE: Final = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
_RDF_TYPE_IRI: Final = _RDF_TYPE[1:-1]
_SHAPE_STR_PLAIN: Final = ("l", "str", False)
_SHAPE_STR_TYPED: Final = ("l", "str", True)
_SHAPE_BLANK: Final = ("_",)
_SHAPE_REF: Final = ("r",)


_MAX_MEMO: Final = 1024
_BUCKET: Final = 12


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    """Memoise, up to a bound: keys come from documents (type lists, context lists), and a
    stream of distinct ones must not grow memory (beyond the bound, work is just redone)."""
    if len(memo) < _MAX_MEMO:
        memo[key] = value


def _first(item: tuple[str, Any, Any, Any]) -> str:
    return item[0]


_BAD_IRI: Final = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_KEYWORD_LIKE: Final = re.compile(r"^@[a-zA-Z]+$")
_STATE_KEYS_DECLINED: Final = ("@language", "@direction", "@vocab", "@base")
_MAX_IRI_MEMO: Final = 4096

_switch = threading.local()
_default_enabled = True


def enabled() -> bool:
    """Whether the compiled path is used (default yes; tests and benchmarks switch it off)."""
    return bool(getattr(_switch, "on", _default_enabled))


def set_enabled(on: bool) -> None:
    """Switch the compiled path on or off for this thread."""
    _switch.on = on


class disabled:
    """``with disabled(): ...`` runs the block on the pyld path only (this thread)."""

    def __enter__(self) -> None:
        self._was = enabled()
        set_enabled(False)

    def __exit__(self, *exc: object) -> None:
        set_enabled(self._was)


class Decline(Exception):
    """The document is outside the compiled subset: take the pyld path."""


def _decline(why: str = "") -> Decline:
    return Decline(why)


def _iri_term(value: str) -> str:
    if _BAD_IRI.search(value) or not _is_absolute_iri(value):
        raise _decline("iri")
    return "<" + value + ">"


def _check_blank(value: str) -> None:
    if len(value) < 3 or " " in value or _BAD_IRI.search(value):
        raise _decline("blank node label")


@dataclass(slots=True)
class _TermInfo:
    iri: str  # absolute IRI, or "@id" / "@type"
    term_state: _State  # active context for the value (property-scoped context applied)
    graph: bool  # @graph container
    set_container: bool  # a container (only @set / @graph are modelled): arrays stay arrays
    pterm: str = ""  # "<iri>"
    coerce: str | None = None  # for scalars: "@id", "@vocab", a datatype IRI or None
    dt_term: str = ""  # "^^<datatype>" for a coerced datatype other than xsd:string


@dataclass(slots=True)
class _ValueInfo:
    coerce: str | None  # "@id", "@vocab", a datatype IRI, or None
    list_container: bool


class _Compiler:
    """Per-loader pyld processor and the states reached so far."""

    def __init__(self, loader: OfflineLoader) -> None:
        self.loader = loader
        self.dropped: list[str | None] = []
        self.proc = _Processor(loader, self.dropped)
        self.options = loader.jsonld_options()
        self.tops: dict[tuple[str, ...], _State] = {}
        self.states: dict[int, _State] = {}
        self.defined: dict[str, bool] = {}
        self.lock = threading.RLock()
        self.prefix_iris: tuple[str, ...] = ()
        self._buckets: dict[str, tuple[str, ...]] = {}
        self._short: tuple[str, ...] = ()
        self.verdicts = VerdictCache()

    def state(self, ctx: Any) -> _State:
        st = self.states.get(id(ctx))
        if st is None or st.ctx is not ctx:
            st = _State(self, ctx)
            self._note_prefixes(ctx)
            if len(self.states) < _MAX_MEMO:
                self.states[id(ctx)] = st  # (the state holds ctx: its id stays unique)
        return st

    def _note_prefixes(self, ctx: Any) -> None:
        # every term IRI of every state: an IRI starting with one of them might be compacted
        # (to a term or a compact IRI), so it is not opaque in a skeleton
        iris = set(self.prefix_iris)
        for m in ctx["mappings"].values():
            if m and isinstance(m.get("@id"), str) and not m["@id"].startswith("@"):
                iris.add(m["@id"])
        self.prefix_iris = tuple(sorted(iris))
        # bucketed by their first characters: a prefix of an IRI shares them
        buckets: dict[str, list[str]] = {}
        for i in self.prefix_iris:
            if len(i) >= _BUCKET:
                buckets.setdefault(i[:_BUCKET], []).append(i)
        self._buckets = {k: tuple(v) for k, v in buckets.items()}
        self._short = tuple(i for i in self.prefix_iris if len(i) < _BUCKET)

    def process(self, active: Any, local: Any, **flags: Any) -> Any:
        with self.loader.lock:
            try:
                result = self.proc._process_context(active, local, self.options, **flags)
            except jsonld.JsonLdError as e:
                raise _decline("context processing") from e
        if self.dropped:
            self.dropped.clear()
            raise _decline("dropped")
        return result

    def top(self, context: Any) -> _State:
        key = tuple(context) if isinstance(context, list) else (context,)
        st = self.tops.get(key)
        if st is None:
            with self.loader.lock:
                initial = self.proc._get_initial_context(self.options)
            st = self.state(self.process(initial, context))
            _remember(self.tops, key, st)
        return st

    def is_defined(self, iri: str) -> bool:
        got = self.defined.get(iri)
        if got is None:
            got = self.loader.is_defined(iri)
            if len(self.defined) < _MAX_IRI_MEMO:
                self.defined[iri] = got
        return got

    def opaque(self, iri: str) -> bool:
        """No term IRI is a prefix of ``iri``: compaction leaves it as it is."""
        if self._short and iri.startswith(self._short):
            return False
        bucket = self._buckets.get(iri[:_BUCKET])
        return bucket is None or not iri.startswith(bucket)


class _State:
    """One pyld active context with memoised look-ups and transitions."""

    def __init__(self, comp: _Compiler, ctx: Any) -> None:
        self.comp = comp
        self.ctx = ctx
        self.mappings = ctx["mappings"]
        self.usable = not any(k in ctx for k in _STATE_KEYS_DECLINED)
        prev = ctx.get("previousContext")
        self.prev_ctx = prev
        self._prev: _State | None = None
        self._keys: dict[str, str | None] = {}
        self._terms: dict[str, _TermInfo] = {}
        self._values: dict[str, _ValueInfo] = {}
        self._types: dict[tuple[str, ...], tuple[_State, tuple[str, ...]]] = {}
        self._scoped: dict[tuple[str, bool], _State] = {}
        self._embedded: dict[tuple[str, ...], _State] = {}
        self._type_containers: dict[str, bool] = {}
        self._ids: dict[str, str] = {}
        self._vocab: dict[str, str] = {}

    @property
    def prev(self) -> _State | None:
        if self.prev_ctx is None:
            return None
        if self._prev is None:
            self._prev = self.comp.state(self.prev_ctx)
        return self._prev

    def key(self, key: str) -> str | None:
        """``key`` expanded with vocab=true (None: not a term)."""
        try:
            return self._keys[key]
        except KeyError:
            pass
        with self.comp.loader.lock:
            got = self.comp.proc._expand_iri(self.ctx, key, vocab=True)
        result = got if isinstance(got, str) else None
        _remember(self._keys, key, result)
        return result

    def term(self, key: str) -> _TermInfo:
        info = self._terms.get(key)
        if info is not None:
            return info
        if not self.usable or key not in self.mappings:
            raise _decline("not a term")
        m = self.mappings[key]
        if m is None or m.get("reverse") or "@index" in m or "@nest" in m:
            raise _decline("term")
        iri = m.get("@id")
        if not isinstance(iri, str):
            raise _decline("term iri")
        if iri.startswith("@"):
            if iri not in ("@id", "@type"):
                raise _decline("keyword alias")
        else:
            _iri_term(iri)
            if iri.startswith("_:") or not self.comp.is_defined(iri):
                raise _decline("undefined")
        container = m.get("@container") or []
        if isinstance(container, str):
            container = [container]
        if any(c not in ("@set", "@graph") for c in container):
            raise _decline("container")
        local = m.get("@context")
        term_state = self
        if local is not None:
            term_state = self.comp.state(
                self.comp.process(self.ctx, local, propagate=True, override_protected=True)
            )
        info = _TermInfo(iri, term_state, "@graph" in container, bool(container))
        if not iri.startswith("@"):
            info.pterm = "<" + iri + ">"
            # what ``_expand(term_ctx, key, value)`` looks up for the value
            if key in term_state.mappings:
                if term_state.key(key) != iri:
                    raise _decline("scoped redefinition")
            elif ":" in key or key.startswith("@"):  # pragma: no cover - keys are terms
                raise _decline("key")
            # (a scoped "@context": null leaves the key undefined for its own value: scalars
            # under it are then plain literals, as in pyld)
            vi = term_state.value_info(key)
            if vi.list_container:
                raise _decline("list")
            coerce = info.coerce = vi.coerce
            if coerce is not None and coerce not in ("@id", "@vocab", _XSD_STRING):
                info.dt_term = "^^<" + coerce + ">"
        _remember(self._terms, key, info)
        return info

    def value_info(self, key: str) -> _ValueInfo:
        """How a scalar under ``key`` expands here (``_expand_value`` on this context)."""
        info = self._values.get(key)
        if info is not None:
            return info
        if not self.usable:
            raise _decline("state")
        get = jsonld.JsonLdProcessor.get_context_value
        if get(self.ctx, key, "@language") is not None:
            raise _decline("language")
        if get(self.ctx, key, "@direction") is not None:
            raise _decline("direction")
        coerce = get(self.ctx, key, "@type")
        if coerce is not None:
            if not isinstance(coerce, str) or coerce in ("@none", "@json"):
                raise _decline("coercion")
            if coerce not in ("@id", "@vocab"):
                if coerce == _RDF_LANGSTRING:
                    raise _decline("langString without a language")
                _iri_term(coerce)
                if not self.comp.is_defined(coerce):
                    raise _decline("datatype")
        container = get(self.ctx, key, "@container") or []
        info = _ValueInfo(coerce, "@list" in container)
        _remember(self._values, key, info)
        return info

    def scoped(self, key: str, revert: bool) -> _State:
        """The context a node object under ``key`` is expanded in (``_expand`` steps for an
        object: revert a non-propagated context, then apply the property-scoped one)."""
        got = self._scoped.get((key, revert))
        if got is not None:
            return got
        active: _State = self
        if revert and self.prev is not None:
            active = self.prev
        local = jsonld.JsonLdProcessor.get_context_value(self.ctx, key, "@context") if key else None
        if local is not None:
            active = self.comp.state(self.comp.process(active.ctx, local, override_protected=True))
        _remember(self._scoped, (key, revert), active)
        return active

    def type_container(self, key: str) -> bool:
        """Whether the ``@type`` alias ``key`` has a container (compaction keeps arrays)."""
        got = self._type_containers.get(key)
        if got is None:
            got = bool(jsonld.JsonLdProcessor.get_context_value(self.ctx, key, "@container"))
            _remember(self._type_containers, key, got)
        return got

    def embedded(self, local: Any) -> _State:
        """The context after a node's own ``@context`` (URLs only)."""
        if isinstance(local, str):
            key: tuple[str, ...] = (local,)
        elif isinstance(local, list) and local and all(isinstance(c, str) for c in local):
            key = tuple(local)
        else:
            raise _decline("embedded context")
        got = self._embedded.get(key)
        if got is None:
            got = self.comp.state(self.comp.process(self.ctx, local))
            _remember(self._embedded, key, got)
        return got

    def typed(self, types: tuple[str, ...]) -> tuple[_State, tuple[str, ...]]:
        """Apply the type-scoped contexts of ``types`` (sorted, as pyld does); also return
        the expanded type IRIs (expanded in this context, before the scoped ones)."""
        got = self._types.get(types)
        if got is not None:
            return got
        if not self.usable:
            raise _decline("state")
        active = self
        iris = []
        for t in types:
            iri = self.vocab_iri(t)
            if iri.startswith("_:") or not self.comp.is_defined(iri):
                raise _decline("type")
            iris.append(iri)
        for t in sorted(types):
            local = jsonld.JsonLdProcessor.get_context_value(self.ctx, t, "@context")
            if local is not None and local is not False:
                active = self.comp.state(self.comp.process(active.ctx, local, propagate=False))
        got = (active, tuple(iris))
        _remember(self._types, types, got)
        return got

    def vocab_iri(self, value: str) -> str:
        got = self._vocab.get(value)
        if got is None:
            if _KEYWORD_LIKE.match(value):
                raise _decline("keyword-like")
            with self.comp.loader.lock:
                r = self.comp.proc._expand_iri(self.ctx, value, vocab=True, base=None)
            if not isinstance(r, str) or r.startswith("@"):
                raise _decline("vocab iri")
            _iri_term(r)
            got = r
            if len(self._vocab) < _MAX_IRI_MEMO:
                self._vocab[value] = got
        return got

    def id_iri(self, value: str) -> str:
        """``value`` expanded as a node identifier (base null): absolute IRI or blank node."""
        got = self._ids.get(value)
        if got is None:
            if _KEYWORD_LIKE.match(value) or value.startswith("@"):
                raise _decline("keyword-like id")
            with self.comp.loader.lock:
                r = self.comp.proc._expand_iri(self.ctx, value, base=None)
            if not isinstance(r, str):
                raise _decline("id")
            if r.startswith("_:"):
                _check_blank(r)
            else:
                _iri_term(r)
            got = r
            if len(self._ids) < _MAX_IRI_MEMO:
                self._ids[value] = got
        return got


_COMPILERS: weakref.WeakKeyDictionary[OfflineLoader, _Compiler] = weakref.WeakKeyDictionary()
_COMPILERS_LOCK = threading.Lock()


def verdicts(loader: OfflineLoader) -> VerdictCache:
    """The compaction verdicts found for ``loader``'s contexts."""
    return _compiler(loader).verdicts


def _compiler(loader: OfflineLoader) -> _Compiler:
    with _COMPILERS_LOCK:
        comp = _COMPILERS.get(loader)
        if comp is None:
            comp = _Compiler(loader)
            _COMPILERS[loader] = comp
        return comp


@dataclass(frozen=True, slots=True)
class Walk:
    """What one compiled walk found.

    Attributes:
        quads: exactly pyld's ``to_quads(expand(document))`` (labels and order included), or,
            with a skolemizer, the deskolemized quads of the skolemized document.
        values: number of JSON values (property values and types): each one RDF statement.
        literals_native: every literal is in the native JSON form of its datatype
            (:func:`_jsonld._literal_ok`).
        skeleton: the document's compaction-relevant shape (see the module docstring).
        sk_compact: with a skolemizer: pyld's compact form of the skolemized document.
    """

    quads: list[Quad]
    values: int
    literals_native: bool
    skeleton: Any
    sk_compact: Any = None


class _Walker:
    def __init__(
        self,
        comp: _Compiler,
        rename: Callable[[str], str] | None,
        skolem: Any,
    ) -> None:
        self.comp = comp
        self.rename = rename
        self.skolem = skolem
        # graph name -> subject -> predicate term -> ([object terms], {dedup keys})
        self.graphs: dict[str, dict[str, dict[str, tuple[list[str], set[Any]]]]] = {"@default": {}}
        self.labels: dict[str | None, str] = {}
        self.counter = 0
        self.values = 0
        self.native = True
        self.sk_ids: dict[int, str] = {}
        self.container_keys: set[tuple[int, str]] = set()

    # -- blank nodes ---------------------------------------------------------------------
    def issue(self, old: str | None) -> str:
        if old is not None:
            got = self.labels.get(old)
            if got is not None:
                return got
        label = f"_:b{self.counter}"
        self.counter += 1
        if old is not None:
            self.labels[old] = label
        return label

    # -- node map ------------------------------------------------------------------------
    @staticmethod
    def add(node: dict[str, Any] | None, pred: str, term: str, key: Any) -> None:
        """Add an object to a node-map node, as pyld's ``add_value`` without duplicates
        (``key`` has pyld's equality: ``1 == 1.0``, ``True != 1``)."""
        if node is None:
            return
        slot = node.get(pred)
        if slot is None:
            node[pred] = ([term], {key})
        elif key not in slot[1]:
            slot[1].add(key)
            slot[0].append(term)

    def subject_term(self, ident: str) -> str:
        if ident.startswith("_:"):
            return ident
        term = "<" + ident + ">"
        if self.rename is not None:
            term = self.rename(term)
        return term

    # -- values ---------------------------------------------------------------------------
    def scalar(self, info: _TermInfo, value: Any, parent: dict[str, Any] | None) -> Any:
        """A scalar under a term (``_expand_value`` + ``_object_to_rdf``); returns its
        skeleton."""
        coerce = info.coerce
        t = type(value)
        if t is str:
            if coerce is None or coerce == _XSD_STRING:
                self.add(parent, info.pterm, literal(value), ("v", False, value, coerce))
                return _SHAPE_STR_PLAIN if coerce is None else _SHAPE_STR_TYPED
            if coerce == "@id" or coerce == "@vocab":
                st = info.term_state
                ident = st.vocab_iri(value) if coerce == "@vocab" else st.id_iri(value)
                if ident.startswith("_:"):
                    term = "_:e" + ident[2:] if self.skolem is not None else self.issue(ident)
                    shape: Any = _SHAPE_BLANK
                else:
                    term = self.subject_term(ident)
                    shape = ("r", value) if not self.comp.opaque(ident) else _SHAPE_REF
                self.add(parent, info.pterm, term, ("id", term))
                return shape
            if coerce == _XSD_DOUBLE:
                raise _decline("string typed as double")
            if coerce in (_XSD_BOOLEAN, _XSD_INTEGER):
                self.native = False
            body = literal(value)
            self.add(parent, info.pterm, body + info.dt_term, ("v", False, value, coerce))
            return _SHAPE_STR_TYPED
        datatype = None if coerce in (None, "@id", "@vocab") else coerce
        if t is bool:
            lexical, dt = ("true" if value else "false"), datatype or _XSD_BOOLEAN
        elif t is int or t is float:
            if t is float and not math.isfinite(value):
                raise _decline("non-finite")
            if abs(value) >= 1e300:
                raise _decline("huge number")
            # pyld's _is_double / _is_integer, for the two exact JSON number types
            integral = t is int or value.is_integer()
            if not integral:
                lexical, dt = _canonicalize_double(value), datatype or _XSD_DOUBLE
            elif datatype == _XSD_DOUBLE:
                lexical, dt = _canonicalize_double(float(value)), _XSD_DOUBLE
            elif abs(value) >= 1e21:
                lexical, dt = _canonicalize_double(value), datatype or _XSD_DOUBLE
            else:
                lexical, dt = str(int(value)), datatype or _XSD_INTEGER
        else:
            raise _decline("value")
        if not _literal_native(value, datatype):
            self.native = False
        # lexical forms of numbers and booleans need no escaping; dt is a checked IRI
        term = '"' + lexical + '"' if dt == _XSD_STRING else '"' + lexical + '"^^<' + dt + ">"
        self.add(parent, info.pterm, term, ("v", t is bool, value, datatype))
        return ("l", t.__name__, datatype is not None)

    def node(
        self,
        st_in: _State,
        key: str | None,
        elem: dict[str, Any],
        graph: str,
        parent: dict[str, Any] | None,
        pterm: str,
        top: bool = False,
    ) -> Any:
        """A node object under ``key`` in context ``st_in`` (``_expand`` of an object, then
        ``_create_node_map``); returns its skeleton."""
        if top:
            st = st_in
        else:
            revert = True
            if st_in.prev_ctx is not None and len(elem) <= 2 and "@context" not in elem:
                for k in sorted(elem):
                    e = st_in.key(k)
                    if e == "@value":
                        raise _decline("value object")
                    if e == "@id" and len(elem) == 1:
                        revert = False
                        break
            st = st_in.scoped(key or "", revert)
            local = elem.get("@context")
            if local is not None:
                # an embedded context (allow-listed URLs, checked by check_contexts)
                st = st.embedded(local)
        if not st.usable:
            raise _decline("state")
        # find @id and @type keys
        id_value: str | None = None
        type_key: str | None = None
        types: tuple[str, ...] = ()
        keys = st._keys
        for k, v in elem.items():
            e = keys[k] if k in keys else st.key(k)
            if e == "@type":
                if type_key is not None:
                    raise _decline("two type keys")
                type_key = k
                if type(v) is str:
                    types = (v,)
                else:
                    if type(v) is not list or not v or not all(type(t) is str for t in v):
                        raise _decline("type value")
                    types = tuple(v)
            elif e == "@id":
                if id_value is not None or type(v) is not str:
                    raise _decline("id")
                id_value = v
        active, type_iris = st.typed(types) if types else (st, ())
        ident = st_id = active.id_iri(id_value) if id_value is not None else None
        # skolemization (ecdsa-sd-2023): every node gets an identifier
        if self.skolem is not None:
            if ident is None:
                sk_label = self.sk_ids.get(id(elem))
                if sk_label is None:
                    raise _decline("skolem")
                ident = "_:" + sk_label
            elif ident.startswith("_:"):
                ident = "_:e" + ident[2:]
        props: list[tuple[str, str, _TermInfo, Any]] = []
        terms = active._terms
        seen: set[str] = set()
        for k, v in elem.items():
            if k == "@context" or k == type_key:
                continue
            info = terms.get(k)
            if info is None:
                if k.startswith("@"):
                    raise _decline("keyword key")
                info = active.term(k)
            iri = info.iri
            if iri == "@id":
                continue
            if iri == "@type":  # pragma: no cover - found above
                raise _decline("type")
            if iri in seen or iri == _RDF_TYPE_IRI:
                raise _decline("two keys for one IRI")
            seen.add(iri)
            if info.set_container:
                self.container_keys.add((id(elem), k))
            props.append((iri, k, info, v))
        # top-level node objects with nothing but an identifier are dropped by expansion
        if top and not props and not types:
            raise _decline("empty top-level node")
        if ident is None:
            ident = self.issue(None)
        elif self.skolem is None and ident.startswith("_:"):
            ident = self.issue(ident)
        g = self.graphs[graph]
        me = g.get(ident)
        if me is None:
            me = g[ident] = {}
        if parent is not None:
            sterm = self.subject_term(ident)
            self.add(parent, pterm, sterm, ("id", sterm))
        shape: list[Any] = []
        if not top and "@context" in elem:
            ctx_value = elem["@context"]
            shape.append(
                ("@context", tuple(ctx_value) if isinstance(ctx_value, list) else ctx_value)
            )
        if st_id is not None:
            shape.append(("id", id_value if not self._opaque_id(st_id) else None))
        if types:
            assert type_key is not None
            self.values += len(types)
            for t in type_iris:
                tt = "<" + t + ">"
                self.add(me, _RDF_TYPE, tt, ("t", t))
            if st.type_container(type_key):
                self.container_keys.add((id(elem), type_key))
            shape.append((type_key, tuple(types) if type(elem[type_key]) is list else types[0]))
        if len(props) > 1:
            props.sort(key=_first)
        for _iri, k, info, v in props:
            shape.append((k, self.prop(info, k, v, graph, me)))
        return ("n", tuple(shape))

    def _opaque_id(self, ident: str) -> bool:
        return ident.startswith("_:") or self.comp.opaque(ident)

    def prop(self, info: _TermInfo, key: str, value: Any, graph: str, me: dict[str, Any]) -> Any:
        is_list = type(value) is list
        items = value if is_list else (value,)
        tst = info.term_state
        shapes = []
        self.values += len(items)
        for item in items:
            t = type(item)
            if t is dict:
                if info.graph:
                    shapes.append(self._graph_value(info, key, item, graph, me))
                else:
                    shapes.append(self.node(tst, key, item, graph, me, info.pterm))
            elif t is str or t is int or t is bool or t is float:
                if info.graph:
                    shapes.append(self._graph_value(info, key, item, graph, me))
                else:
                    shapes.append(self.scalar(info, item, me))
            elif t is list:
                raise _decline("nested array")
            else:
                raise _decline("value")
        if is_list:
            return ("a", tuple(shapes))
        return shapes[0]

    def _graph_value(
        self, info: _TermInfo, key: str, item: Any, graph: str, me: dict[str, Any]
    ) -> Any:
        """A value under an ``@graph`` container: a blank node naming a graph that holds it."""
        if self.skolem is not None:
            raise _decline("graph container with skolemization")
        if type(item) is not dict and not (type(item) is str and info.coerce in ("@id", "@vocab")):
            raise _decline("literal in a graph container")
        wrapper = self.issue(None)
        self.graphs[graph].setdefault(wrapper, {})
        self.add(me, info.pterm, wrapper, ("id", wrapper))
        self.graphs.setdefault(wrapper, {})
        if type(item) is dict:
            return self.node(info.term_state, key, item, wrapper, None, "")
        return self.scalar(info, item, None)

    # -- output ---------------------------------------------------------------------------
    def _subject_order(self, ident: str) -> str:
        # pyld's node map holds the skolem IRIs, sorted as such
        if self.skolem is not None and ident.startswith("_:"):
            return str(self.skolem.prefix) + ident[2:]
        return ident

    def quads(self) -> list[Quad]:
        out: list[Quad] = []
        for name in sorted(self.graphs):
            if name == "@default":
                g = ""
            elif name.startswith("_:"):
                g = name
            else:  # pragma: no cover - only blank graph names are made
                raise _decline("graph name")
            nodes = self.graphs[name]
            for ident in sorted(nodes, key=self._subject_order):
                s = self.subject_term(ident)
                node = nodes[ident]
                for pred in sorted(node, key=_pred_sort_key):
                    for o in node[pred][0]:
                        out.append((s, pred, o, g))
        return out


def _pred_sort_key(pred: str) -> str:
    # pyld sorts a node's properties by expanded IRI, with "@type" (rdf:type) first
    return "@type" if pred == _RDF_TYPE else pred[1:-1]


def _literal_native(value: Any, datatype: str | None) -> bool:
    """:func:`_jsonld._literal_ok` (duplicated to keep the import graph acyclic)."""
    if datatype == _XSD_BOOLEAN:
        return isinstance(value, bool)
    if datatype == _XSD_INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if datatype == _XSD_DOUBLE:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if datatype is None:
        return not (isinstance(value, float) and value.is_integer() and abs(value) < 1e21)
    return isinstance(value, str)


def _skolem_labels(value: Any, out: dict[int, str], counter: list[int]) -> None:
    """Number the node objects without ``id`` as ``_Skolem.skolemize`` does on pyld's
    expanded form: children first (keys in sorted order), then the node itself."""
    if isinstance(value, list):
        for v in value:
            _skolem_labels(v, out, counter)
        return
    if not isinstance(value, dict):
        return
    for k in sorted(value):
        if k != "@context":
            _skolem_labels(value[k], out, counter)
    if "id" not in value:
        out[id(value)] = f"g{counter[0]}"
        counter[0] += 1


def compile_document(
    document: Mapping[str, Any],
    loader: OfflineLoader,
    *,
    rename: Callable[[str], str] | None = None,
    skolem: Any = None,
) -> Walk:
    """Walk ``document`` (already checked by :func:`_jsonld.check_contexts`) on the compiled
    path. Raises :class:`Decline` when the document is outside the modelled subset.

    ``rename`` maps IRI terms (``<...>``) as in :func:`_rdfc.quads_from_pyld`. ``skolem`` (a
    ``_group._Skolem``) gives every node object without an identifier the blank node
    ``_:g<n>`` that skolemization and deskolemization would, and ``_:x`` identifiers
    ``_:ex``; :attr:`Walk.sk_compact` is then the compacted skolemized document.
    """
    if not isinstance(document, dict):
        raise _decline("not an object")
    context = document.get("@context")
    if isinstance(context, list):
        if not context or not all(isinstance(c, str) for c in context):
            raise _decline("context")
    elif not isinstance(context, str):
        raise _decline("context")
    comp = _compiler(loader)
    with comp.lock:
        top = comp.top(context)
        w = _Walker(comp, rename, skolem)
        if skolem is not None:
            _skolem_labels(document, w.sk_ids, [0])
        try:
            shape = w.node(top, None, document, "@default", None, "", top=True)
        except (BlauweKnopError, OverflowError, RecursionError) as e:
            raise _decline("error") from e
        skeleton = (tuple(context) if isinstance(context, list) else context, shape)
        quads = w.quads()
        sk_compact = _sk_compact(document, w, skolem) if skolem is not None else None
    return Walk(quads, w.values, w.native, skeleton, sk_compact)


def _sk_compact(document: Mapping[str, Any], w: _Walker, skolem: Any) -> Any:
    """The skolemized document in compact form: ``id`` members added (``urn:bnid:``
    identifiers for nodes without one, ``_:x`` rewritten), one-element arrays under
    container-less terms written as their element (compaction's ``compactArrays``)."""
    prefix = skolem.prefix

    def conv(value: Any) -> Any:
        if isinstance(value, list):
            return [conv(v) for v in value]
        if not isinstance(value, dict):
            return value
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k == "id" and isinstance(v, str) and v.startswith("_:"):
                out[k] = prefix + "e" + v[2:]
            elif k == "@context":
                out[k] = v
            else:
                cv = conv(v)
                if (id(value), k) in w.container_keys:
                    if not isinstance(cv, list):
                        cv = [cv]
                elif isinstance(cv, list) and len(cv) == 1:
                    cv = cv[0]
                out[k] = cv
        label = w.sk_ids.get(id(value))
        if label is not None:
            out = {"id": prefix + label, **out}
        return out

    return conv(document)


class VerdictCache:
    """Bounded memo ``skeleton -> verdict`` (see the module docstring), per loader."""

    def __init__(self, maxsize: int = 1024) -> None:
        self.maxsize = maxsize
        self._data: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            return self._data.get(key)

    def put(self, key: Any, verdict: Any) -> None:
        with self._lock:
            self._data[key] = verdict
            while len(self._data) > self.maxsize:
                del self._data[next(iter(self._data))]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
