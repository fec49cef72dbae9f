"""The issuer's register: every credential issued, its status-list index, its state, and an
append-only audit trail, in one SQLite file (docs/issuing-organisation.md) or in a PostgreSQL
database shared by several issuing machines (:mod:`._postgres`, docs/register-postgresql.md).

A private package, split by job (issue 13):

* :mod:`._protocol` -- :class:`IssuerRegister`, what the issuer needs from a register: the
  seam a second backend (PostgreSQL) implements;
* :mod:`._records` -- states, records and reports shared by every backend;
* :mod:`._store` / :mod:`._reads` -- the SQLite register (writes / reads); :mod:`._schema`
  its schema and migrations, :mod:`._rows` its row operations (allocation, audit),
  :mod:`._reconcile` and :mod:`._integrity` its recovery and self-check;
* :mod:`._postgres` / :mod:`._pg_schema` -- the PostgreSQL register (same seam, same
  guarantees); :func:`open_register` picks the backend from a path or a URL;
* :mod:`._durable` -- group commit of a batch chunk's files (one sync per chunk);
* :mod:`._fence` -- the rollback fence file; :mod:`._bsn` -- the keyed BSN hash and its key;
* :mod:`._publish` -- publishing the lists, through the status package's encoders.

What it guarantees (docs/security.md):

* **Nothing committed is lost**: WAL journal with ``synchronous=FULL`` (WAL with ``NORMAL``
  can lose the last commits on power loss); every change is one transaction.
* **No index is handed out twice**: allocations are made under ``BEGIN IMMEDIATE`` and
  ``UNIQUE(list_id, idx)``; an allocated index is *burned* even if issuance then fails.
  Indices are drawn uniformly at random over a list's free indices (``secrets``), so the
  position says nothing about issuance order (W3C Bitstring Status List section 2.1,
  ``statusListIndex``; IETF Token Status List "Linkability Mitigation").
* **Exactly-once batch issuance**: :meth:`Register.reserve` (allocate + insert ``pending``,
  one transaction; idempotent per ``batch_row_key``), then the caller signs and writes the
  credential, then :meth:`Register.confirm` (``pending`` → ``valid``). A resumed run finds the
  pending row and re-uses its credential id and index.
* **History cannot be rewritten**: triggers abort ``UPDATE``/``DELETE`` on the audit trail
  and on allocations, deleting credentials, and changing a credential's fixed columns.
* **No BSN in clear**: only HMAC-SHA256 under a per-home secret key is stored.
* **A restored backup is fenced** (opened with ``fence=``): every change advances the
  register's sequence (the audit trail's ``AUTOINCREMENT`` counter), and after each commit
  that value is written durably to a small *fence file* beside the register. A register whose
  sequence is below its fence (an older copy put back) refuses every change
  (``register_rolled_back``) until :meth:`Register.reconcile` has re-applied the revocations
  of the last published lists and closed the old lists, so no index is handed out twice and
  no revocation is forgotten. :func:`publish` writes the sequence into each Status List Token
  (``register_seq``) and refuses to overwrite a list published by a newer register.

State machine (each step one transaction with one audit row)::

    (none) --reserve--> pending --confirm--> valid <--resume-- suspended
                          |                    |  \\--suspend-->   |
                          +------revoke--------+-------revoke------+--> revoked

Published status values (IETF, 2 bits): ``revoked`` → 1 (INVALID), ``suspended`` → 2
(SUSPENDED), ``pending`` and ``valid`` → 0 (a pending credential may already have been
handed out before a crash; an index nobody holds costs nothing when shown as valid).

Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "register.db")
    >>> reg = Register.open(path, status_base_uri="https://ex.nl/status", list_size=64)
    >>> r = reg.reserve("cred-1", "DebtStatement", "sd-jwt")
    >>> r.list_uri, 0 <= r.idx < 64, r.state
    ('https://ex.nl/status/1.jwt', True, 'pending')
    >>> reg.confirm("cred-1").state
    'valid'
    >>> reg.revoke("cred-1", "debt settled", "clerk@ex.nl").state
    'revoked'
    >>> reg.status_list_bits(1).get(r.idx)
    1
    >>> reg.integrity_check().ok
    True
    >>> reg.close()
"""

from __future__ import annotations

from ._bsn import generate_bsn_key, load_bsn_key, save_bsn_key
from ._open import open_register
from ._postgres import PostgresRegister, is_postgres_url, redact_url
from ._protocol import IssuerRegister, reserve_sign_confirm
from ._publish import publish, read_published
from ._records import (
    DEFAULT_BITS,
    DEFAULT_LIST_SIZE,
    REGISTER_SEQ_CLAIM,
    STATES,
    AuditEntry,
    CredentialRecord,
    IntegrityReport,
    PublishedFile,
    ReconcileReport,
    Reservation,
    ReserveRequest,
    StatusListInfo,
    bitstring_list_uri,
)
from ._rows import kth_free as _kth_free  # noqa: F401 - tests import it from here
from ._schema import _MIGRATIONS as _MIGRATIONS
from ._schema import SCHEMA_VERSION
from ._store import Register

__all__ = [
    "DEFAULT_BITS",
    "DEFAULT_LIST_SIZE",
    "REGISTER_SEQ_CLAIM",
    "SCHEMA_VERSION",
    "STATES",
    "AuditEntry",
    "CredentialRecord",
    "IntegrityReport",
    "IssuerRegister",
    "PostgresRegister",
    "PublishedFile",
    "ReconcileReport",
    "Register",
    "Reservation",
    "ReserveRequest",
    "StatusListInfo",
    "bitstring_list_uri",
    "generate_bsn_key",
    "is_postgres_url",
    "load_bsn_key",
    "open_register",
    "publish",
    "read_published",
    "redact_url",
    "reserve_sign_confirm",
    "save_bsn_key",
]
