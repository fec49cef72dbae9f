"""JSON-LD processing with the safety rails pyld lacks (docs/security.md, VC-DATA-INTEGRITY 2.4).

* ``@context`` values, at any depth, must be allow-listed URLs (a string or an array of
  strings). Inline context objects are refused: they could redefine terms or set ``@vocab``
  (VC-DATA-INTEGRITY 4.6 Context Validation treats any embedded context as a failure).
* After expansion, every property and every type must be an IRI that an allowed context
  defines, node identifiers must be absolute IRIs or blank nodes, and keywords that RDF
  conversion would silently drop (``@index``, ``@direction``, ``null`` values, dropped keys)
  are refused: VC-DATA-INTEGRITY 2.4.3 requires an error on any data loss.
* The base IRI is null (VC-DATA-INTEGRITY 2.4.3), so relative IRIs are detected, not resolved.
* pyld errors become :class:`~blauweknop.ContextError`; a protected-term redefinition keeps its
  own code.

Error codes: ``context_not_allowed``, ``context_pin_mismatch``, ``undefined_term``,
``relative_iri``, ``data_loss``, ``protected_term_redefinition``, ``jsonld_invalid``.

Example:
    >>> from blauweknop._di._loader import OfflineLoader
    >>> doc = {"@context": ["https://www.w3.org/ns/credentials/v2"],
    ...        "type": ["VerifiableCredential", "UndefinedType"]}
    >>> try:
    ...     expand(doc, OfflineLoader())
    ... except ContextError as e:
    ...     print(e.code)
    undefined_term
"""

from __future__ import annotations

import contextlib
import copy
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pyld import jsonld
from pyld.identifier_issuer import IdentifierIssuer

from .._codec import check_depth
from .._errors import BlauweKnopError, ContextError, MalformedError
from .._limits import DEFAULT_LIMITS, Limits
from . import _compiled
from ._loader import OfflineLoader
from ._pyld import _Processor
from ._rdfc import Quad, quads_from_pyld

__all__ = [
    "check_compact_form",
    "check_contexts",
    "compact",
    "document_quads",
    "expand",
    "to_quads",
]

_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_DROPPED_KEYWORDS = frozenset({"@index", "@direction"})


def _is_absolute(value: str) -> bool:
    return bool(_ABSOLUTE_IRI.match(value)) and not value.startswith("_:")


def check_contexts(document: Any, loader: OfflineLoader, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse inline contexts and contexts outside ``loader``'s allow-list, at any depth, and
    ``null`` values (which expansion would drop silently).

    Also bounds the nesting depth (``Limits.max_json_depth``) before pyld recurses.
    """
    limit = limits.max_json_depth
    if not isinstance(document, dict):
        check_depth(document, limit, "JSON-LD document")
        raise MalformedError("malformed_document", "a JSON-LD document must be a JSON object")
    # One pass finds the first problem in the order of the checks below, and whether the
    # document is too deep anywhere (``too_deep`` comes first, as check_depth's would).
    first: BlauweKnopError | None = None
    if "@context" not in document:
        first = ContextError("context_not_allowed", "the document has no @context")
    allowed = loader.allowed_urls()
    stack: list[tuple[Any, int, bool]] = [(document, 0, True)]
    while stack:
        v, depth, checked = stack.pop()
        if depth > limit:
            raise MalformedError("too_deep", f"JSON-LD document nests deeper than {limit}")
        if isinstance(v, dict):
            for k, item in v.items():
                if k == "@context":
                    if checked and first is None:
                        try:
                            _check_context_value(item, allowed)
                        except ContextError as e:
                            first = e
                    # visited for the depth check only
                    stack.append((item, depth + 1, False))
                else:
                    stack.append((item, depth + 1, checked))
        elif not checked:
            if isinstance(v, list):
                stack.extend((item, depth + 1, False) for item in v)
        elif isinstance(v, list):
            if first is None:
                try:
                    _refuse_repeated_values(v)
                except ContextError as e:
                    first = e
            stack.extend((item, depth + 1, True) for item in v)
        elif v is None and first is None:
            # JSON-LD drops nulls silently; the JSON a caller reads would then hold a member
            # the proof does not cover (VC-DATA-INTEGRITY 2.4.3).
            first = ContextError("data_loss", "null values are not allowed")
    if first is not None:
        raise first


def _refuse_repeated_values(items: list[Any]) -> None:
    """An array repeating a value: our contexts declare no ``@list``, so JSON-LD arrays are
    sets and the repeat becomes one RDF statement. The JSON a caller reads would show more
    than the proof covers (a holder could add copies to a signed credential), so it is
    data loss (VC-DATA-INTEGRITY 2.4.3)."""
    seen: set[tuple[type, Any]] = set()
    for item in items:
        if isinstance(item, str | int | float | bool):
            key = (type(item), item)
            if key in seen:
                raise ContextError("data_loss", f"an array repeats the value {item!r}")
            seen.add(key)


def _check_context_value(value: Any, allowed: frozenset[str]) -> None:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ContextError("context_not_allowed", "empty @context")
    for item in items:
        if isinstance(item, str):
            if item not in allowed:
                raise ContextError(
                    "context_not_allowed", f"context {item} is not in the allow-list"
                )
        elif isinstance(item, dict):
            detail = " (it sets @vocab)" if "@vocab" in item else ""
            raise ContextError(
                "context_not_allowed", f"inline @context objects are not accepted{detail}"
            )
        else:
            raise ContextError("context_not_allowed", "@context entries must be URL strings")


def _map_pyld_error(e: jsonld.JsonLdError) -> BlauweKnopError:
    """Find our own error in pyld's cause chain, or translate pyld's error code."""
    cause: BaseException | None = e
    while cause is not None:
        if isinstance(cause, BlauweKnopError):
            return cause
        code = getattr(cause, "code", None)
        if code == "protected term redefinition":
            return ContextError(
                "protected_term_redefinition", "a context redefines a protected term"
            )
        cause = cause.__cause__ or cause.__context__
    return ContextError("jsonld_invalid", f"JSON-LD processing failed: {e.type}")


def _run(
    loader: OfflineLoader,
    fn: Callable[[jsonld.JsonLdProcessor, dict[str, Any]], Any],
    seconds: float | None = None,
) -> Any:
    dropped: list[str | None] = []
    proc = _Processor(loader, dropped)
    if seconds is not None:
        proc.deadline = time.monotonic() + seconds
    try:
        with loader.lock:
            result = fn(proc, loader.jsonld_options())
    except jsonld.JsonLdError as e:
        raise _map_pyld_error(e) from e
    except BlauweKnopError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError, OverflowError) as e:
        # (OverflowError: pyld writes a number beyond a double's range, e.g. a 400-digit
        # JSON integer, with float formatting)
        raise ContextError("jsonld_invalid", f"JSON-LD processing failed: {e}") from e
    if dropped:
        raise ContextError(
            "undefined_term", f"term {dropped[0]!r} is not defined by an allowed context"
        )
    return result


def expand(
    document: Mapping[str, Any], loader: OfflineLoader, limits: Limits = DEFAULT_LIMITS
) -> list[Any]:
    """Expand ``document`` (JSON-LD 1.1 Expansion) and check it loses no data.

    Raises :class:`~blauweknop.ContextError` as described in the module docstring.
    """
    check_contexts(document, loader, limits)
    expanded = _run(loader, lambda proc, opts: proc.expand(document, opts))
    if not isinstance(expanded, list):  # pragma: no cover - pyld always returns a list
        raise ContextError("jsonld_invalid", "expansion did not produce a list")
    check_expanded(expanded, loader)
    return expanded


def check_expanded(expanded: list[Any], loader: OfflineLoader) -> None:
    """Walk expanded JSON-LD: all terms/types defined, no relative IRIs, nothing dropped."""
    stack: list[Any] = list(expanded)
    while stack:
        v = stack.pop()
        if isinstance(v, list):
            stack.extend(v)
            continue
        if not isinstance(v, dict):
            if v is None:
                raise ContextError("data_loss", "null values are not allowed")
            continue
        if "@value" in v:
            _check_value_object(v, loader)
            continue
        for key, item in v.items():
            if key.startswith("@"):
                if key in _DROPPED_KEYWORDS:
                    raise ContextError("data_loss", f"{key} is not preserved by RDF conversion")
                if key == "@id":
                    _check_node_id(item)
                elif key == "@type":
                    for t in item if isinstance(item, list) else [item]:
                        if not isinstance(t, str) or not loader.is_defined(t):
                            raise ContextError(
                                "undefined_term",
                                f"type {t!r} is not defined by an allowed context",
                            )
                elif key == "@reverse":
                    raise ContextError("data_loss", "@reverse properties are not supported")
                else:
                    stack.append(item)
                continue
            if not loader.is_defined(key):
                raise ContextError(
                    "undefined_term", f"property {key!r} is not defined by an allowed context"
                )
            stack.append(item)


def _check_node_id(value: Any) -> None:
    if not isinstance(value, str):
        raise ContextError("jsonld_invalid", "@id must be a string")
    if value.startswith("_:"):
        return
    if not _is_absolute(value):
        raise ContextError("relative_iri", f"identifier {value!r} is not an absolute IRI")


def _check_value_object(v: dict[str, Any], loader: OfflineLoader) -> None:
    for key in v:
        if key in _DROPPED_KEYWORDS:
            raise ContextError("data_loss", f"{key} is not preserved by RDF conversion")
    if v["@value"] is None:
        raise ContextError("data_loss", "null values are not allowed")
    dt = v.get("@type")
    if dt is not None and (not isinstance(dt, str) or not loader.is_defined(dt)):
        raise ContextError(
            "undefined_term", f"datatype {dt!r} is not defined by an allowed context"
        )


def to_quads(
    expanded: list[Any],
    loader: OfflineLoader,
    *,
    rename: Callable[[str], str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[Quad]:
    """Deserialize already-checked expanded JSON-LD to RDF (JSON-LD 1.1 API 8.1 toRdf),
    within ``limits.canonicalization_seconds`` (``canonicalization_limit`` otherwise).

    pyld's public ``to_rdf`` expands its input again; the input here is already expanded, so
    the node map is built directly (same steps as pyld's ``to_rdf``), falling back to the
    public API if this pyld lacks those methods. ``expanded`` may be modified.
    """

    def convert(proc: jsonld.JsonLdProcessor, opts: dict[str, Any]) -> Any:
        opts = {**opts, "produceGeneralizedRdf": False, "rdfDirection": None}
        if not (hasattr(proc, "_create_node_map") and hasattr(proc, "_graph_to_rdf")):
            return proc.to_rdf(expanded, opts)  # pragma: no cover - other pyld versions
        issuer = IdentifierIssuer("_:b")
        node_map: dict[str, Any] = {"@default": {}}
        proc._create_node_map(expanded, node_map, "@default", issuer)
        dataset = {}
        for graph_name, graph in sorted(node_map.items()):
            if graph_name == "@default" or _is_absolute(graph_name) or graph_name.startswith("_:"):
                dataset[graph_name] = proc._graph_to_rdf(graph, issuer, opts)
        return dataset

    dataset = _run(loader, convert, limits.canonicalization_seconds)
    return quads_from_pyld(dataset, rename=rename)


def try_compiled(
    document: Mapping[str, Any],
    loader: OfflineLoader,
    *,
    rename: Callable[[str], str] | None = None,
    skolem: Any = None,
) -> _compiled.Walk | None:
    """The compiled walk of an already :func:`check_contexts`-checked ``document``, or
    ``None`` when the compiled path is off or declines (then the caller takes pyld's)."""
    if not _compiled.enabled():
        return None
    try:
        return _compiled.compile_document(document, loader, rename=rename, skolem=skolem)
    except _compiled.Decline:
        return None


_reuse = threading.local()


@contextlib.contextmanager
def reusing_walks() -> Iterator[None]:
    """Inside, :func:`checked_walk` remembers each document's checks and compiled walk: one
    verification looks at the same (private, unchanging) document and proof configuration
    several times (RDF for the hash, compact-form check)."""
    outer = getattr(_reuse, "memo", None)
    _reuse.memo = {} if outer is None else outer
    try:
        yield
    finally:
        _reuse.memo = outer


def _memo_key(document: Mapping[str, Any], loader: OfflineLoader, limits: Limits) -> Any:
    # A flat document of strings (a proof configuration) is keyed by its content, anything
    # else by identity (the memo keeps it alive, and within a scope it is not changed).
    items: list[tuple[str, Any]] = []
    for k, v in document.items():
        if isinstance(v, str):
            items.append((k, v))
        elif isinstance(v, list) and all(isinstance(x, str) for x in v):
            items.append((k, (*v,)))
        else:
            return (id(loader), id(limits), id(document))
    return (id(loader), id(limits), tuple(sorted(items)))


def checked_walk(
    document: Mapping[str, Any], loader: OfflineLoader, limits: Limits = DEFAULT_LIMITS
) -> _compiled.Walk | None:
    """:func:`check_contexts` (raising as it does), then the compiled walk or ``None``."""
    memo: dict[Any, Any] | None = getattr(_reuse, "memo", None)
    if memo is not None:
        key = _memo_key(document, loader, limits)
        hit = memo.get(key)
        if hit is not None:
            return hit[1]  # type: ignore[no-any-return]
    check_contexts(document, loader, limits)
    walk = try_compiled(document, loader)
    if memo is not None:
        memo[key] = (document, walk, loader, limits)
    return walk


def document_quads(
    document: Mapping[str, Any],
    loader: OfflineLoader,
    limits: Limits = DEFAULT_LIMITS,
    *,
    rename: Callable[[str], str] | None = None,
) -> list[Quad]:
    """``to_quads(expand(document))`` with the same checks and errors, on the compiled path
    (:mod:`._compiled`) when the document is in its subset, else through pyld."""
    if rename is None:
        walk = checked_walk(document, loader, limits)
    else:
        check_contexts(document, loader, limits)
        walk = try_compiled(document, loader, rename=rename)
    if walk is not None:
        return walk.quads
    return to_quads(expand(document, loader, limits), loader, rename=rename, limits=limits)


def compact(expanded: list[Any], context: Any, loader: OfflineLoader) -> dict[str, Any]:
    """JSON-LD 1.1 Compaction of ``expanded`` with ``context`` (a checked ``@context`` value).

    ``expanded`` is already expanded: pyld would otherwise expand it again first
    (``skipExpansion``; expansion of expanded JSON-LD changes nothing).
    """
    result = _run(
        loader,
        lambda proc, opts: proc.compact(
            expanded, {"@context": context}, {**opts, "skipExpansion": True}
        ),
    )
    if not isinstance(result, dict):  # pragma: no cover
        raise ContextError("jsonld_invalid", "compaction did not produce an object")
    return result


_XSD = "http://www.w3.org/2001/XMLSchema#"
#: One-element arrays the VC data model writes for ``type`` (VC-DATA-MODEL-2.0 4.5 examples);
#: compaction would write the bare string. Reading ``type`` as a set makes the two the same.
_ONE_ELEMENT_ARRAY_KEYS = frozenset({"type"})


def check_compact_form(
    document: Mapping[str, Any],
    loader: OfflineLoader,
    limits: Limits = DEFAULT_LIMITS,
    *,
    expected_context: Any = None,
) -> None:
    """Refuse a document (without ``proof``) that is not exactly the compact form of what its
    RDF dataset says, under its own (or ``expected_context``'s pinned) ``@context``.

    A Data Integrity proof signs the RDF dataset, and many JSON documents map to one dataset
    (full IRIs or compact IRIs as keys, ``@value`` objects, strings for typed numbers and
    booleans, one node object repeated under a shared identifier, keyword keys such as
    ``@included``). Callers read JSON members, so after this check every member they read
    is bound to a signed statement, and every signed statement to exactly one member
    (VC-DATA-INTEGRITY 2.4.3: no data may be added or lost between the two). The rules:

    * ``@context`` equals ``expected_context`` when one is given (no extra contexts);
    * no keyword keys other than the top-level ``@context`` (aliases such as ``id`` and
      ``type`` are what compaction writes);
    * JSON-LD 1.1 Compaction of the expanded document gives the document back, except that a
      one-element ``type`` array may stand for its single value and ``{"id": x}`` for a
      reference to node ``x``;
    * typed literals use their native JSON form: ``xsd:boolean`` a JSON boolean,
      ``xsd:integer`` a JSON integer, ``xsd:double`` a JSON number, any other datatype a
      string, and an untyped number with no fraction is an integer;
    * each JSON value is one RDF statement: a node written twice, or two spellings of one
      value, would make fewer statements than values.

    Raises:
        MalformedError: ``not_compact_form``.
        ContextError: as :func:`expand`.
    """
    if expected_context is not None and document.get("@context") != expected_context:
        raise MalformedError("not_compact_form", f"@context must be exactly {expected_context!r}")
    _refuse_keywords(document)
    walk = checked_walk(document, loader, limits)
    verdicts = _compiled.verdicts(loader)
    # Compaction depends only on the skeleton: a verdict pyld gave once holds. Any failure
    # is left to the pyld path below, so the errors stay exactly the same.
    if (
        walk is not None
        and verdicts.get(("form", walk.skeleton)) is True
        and walk.literals_native
        and walk.values == len(set(walk.quads))
    ):
        return
    expanded = expand(document, loader, limits)
    values = _check_literals_and_count(expanded)
    compacted = compact(copy.deepcopy(expanded), document["@context"], loader)
    compacted.pop("@context", None)
    received = {k: v for k, v in document.items() if k != "@context"}
    if not _same_compact(received, compacted, None):
        raise MalformedError(
            "not_compact_form",
            "the document is not in the compact form of its @context (full IRIs as keys, "
            "@value objects, aliases, arrays where one value is meant)",
        )
    if walk is not None:
        verdicts.put(("form", walk.skeleton), True)
    statements = len(set(to_quads(expanded, loader, limits=limits)))
    if values != statements:
        raise MalformedError(
            "not_compact_form",
            f"the document has {values} values for {statements} signed statements "
            "(a node or value written twice)",
        )


def _refuse_keywords(document: Mapping[str, Any]) -> None:
    stack: list[tuple[Any, bool]] = [(document, True)]
    while stack:
        v, top = stack.pop()
        if isinstance(v, dict):
            for k, item in v.items():
                if k.startswith("@") and not (top and k == "@context"):
                    raise MalformedError(
                        "not_compact_form", f"keyword key {k!r} is not part of the compact form"
                    )
                if k != "@context":
                    stack.append((item, False))
        elif isinstance(v, list):
            stack.extend((item, False) for item in v)


def _literal_ok(value: Any, datatype: Any) -> bool:
    if datatype == _XSD + "boolean":
        return isinstance(value, bool)
    if datatype == _XSD + "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if datatype == _XSD + "double":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if datatype is None:
        # JSON-LD toRdf writes an integral number as xsd:integer: 5.0 and 5 are one value
        return not (isinstance(value, float) and value.is_integer() and abs(value) < 1e21)
    return isinstance(value, str)


def _check_literals_and_count(expanded: list[Any]) -> int:
    """Check typed literals (see :func:`check_compact_form`) and count the values: each
    property value and each ``@type`` of a node is one RDF statement."""
    count = 0
    stack: list[Any] = list(expanded)
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        if "@value" in node:
            if not _literal_ok(node["@value"], node.get("@type")):
                raise MalformedError(
                    "not_compact_form",
                    f"literal {node['@value']!r} is not in the native JSON form of its datatype",
                )
            continue
        if "@list" in node:
            items = node["@list"]
            count += 2 * len(items)
            stack.extend(items)
            continue
        for key, item in node.items():
            if key == "@id":
                continue
            items = item if isinstance(item, list) else [item]
            if key == "@graph":
                stack.extend(items)
                continue
            count += len(items)
            stack.extend(items)
    return count


def _same_compact(received: Any, compacted: Any, key: str | None) -> bool:
    """``received`` equals ``compacted``, types and all (``True`` is not ``1``), except that
    a one-element array under ``type`` may stand for its value, and ``{"id": x}`` for the
    node reference ``x`` (compaction writes a bare IRI where the term is ``@type: @id``)."""
    if isinstance(received, dict):
        if isinstance(compacted, str) and received.keys() == {"id"}:
            return bool(received["id"] == compacted)
        return (
            isinstance(compacted, dict)
            and received.keys() == compacted.keys()
            and all(_same_compact(received[k], compacted[k], k) for k in received)
        )
    if isinstance(received, list):
        if (
            len(received) == 1
            and key in _ONE_ELEMENT_ARRAY_KEYS
            and not isinstance(compacted, list)
        ):
            return _same_compact(received[0], compacted, key)
        return (
            isinstance(compacted, list)
            and len(received) == len(compacted)
            and all(_same_compact(r, c, key) for r, c in zip(received, compacted, strict=True))
        )
    return type(received) is type(compacted) and received == compacted
