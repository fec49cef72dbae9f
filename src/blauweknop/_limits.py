"""Resource limits enforced before expensive work.

All parsers and verifiers take a :class:`Limits`; the defaults suit presentations from a
phone and the registers of a large municipality. Raise them deliberately, never to "make it
work".

Example:
    >>> from blauweknop import Limits
    >>> Limits().max_json_depth
    32
    >>> Limits(max_disclosures=50).max_disclosures
    50
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "Limits"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Limits:
    """Upper bounds on untrusted input; exceeding one raises ``MalformedError("too_large")``.

    Attributes:
        max_token_bytes: size of one SD-JWT / presentation / DI document in bytes.
        max_vp_token_bytes: size of a whole ``vp_token`` (several presentations).
        max_json_depth: nesting depth of any JSON value.
        max_disclosures: disclosures in one SD-JWT.
        max_digests: digests (``_sd`` entries + array digests) in one SD-JWT payload.
        max_trust_list_bytes: size of a trust-list JWT.
        max_status_list_bytes: compressed size of a status list.
        max_status_list_entries: decompressed entries of a status list (bomb guard).
        max_cbor_bytes: size of an ecdsa-sd-2023 proof value.
        max_rdf_quads: statements in a dataset to canonicalize.
        max_blank_nodes: blank nodes in a dataset to canonicalize.
        canonicalization_seconds: wall-clock budget for one RDF canonicalization.
        max_dcql_bytes: size of a DCQL query.
        max_presentations: presentations in one ``vp_token``.
    """

    max_token_bytes: int = 256 * 1024
    max_vp_token_bytes: int = 2 * 1024 * 1024
    max_json_depth: int = 32
    max_disclosures: int = 1024
    max_digests: int = 4096
    max_trust_list_bytes: int = 2 * 1024 * 1024
    max_status_list_bytes: int = 4 * 1024 * 1024
    max_status_list_entries: int = 16 * 1024 * 1024
    max_cbor_bytes: int = 256 * 1024
    max_rdf_quads: int = 4096
    max_blank_nodes: int = 512
    canonicalization_seconds: float = 5.0
    max_dcql_bytes: int = 64 * 1024
    max_presentations: int = 64


DEFAULT_LIMITS = Limits()
