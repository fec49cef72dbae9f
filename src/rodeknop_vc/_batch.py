"""Batch issuance of declarations from a municipality's CSV export: validate every row before
signing anything, report rejected rows, and resume after an interruption so that each row is
issued exactly once.

CSV columns: ``specs/rode-knop-batch.md``. One row is one declaration; ``declaration_id`` is
the row key. The holder key is a ``did:jwk`` or a path (relative to the CSV file) to a public
JWK file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from blauweknop import (
    BlauweKnopError,
    InvalidDataError,
    Issuer,
    Key,
    StorageError,
    key_from_did_jwk,
)
from blauweknop._codec import parse_json_object
from blauweknop._files import (
    PRIVATE_FILE_MODE,
    atomic_write,
    make_private_dir,
    read_small_regular_file,
)
from blauweknop._issuer import check_spreadsheet_safe
from blauweknop._register import ReserveRequest
from blauweknop._register._durable import sync_chunk, write_unsynced
from blauweknop.formats import format_for, format_for_option

from ._declaration import PaymentIncapacityDeclaration

if TYPE_CHECKING:
    from blauweknop._register import CredentialRecord

__all__ = ["BatchReport", "BatchRow", "RejectedRow", "issue_batch", "read_batch", "write_report"]

REQUIRED_COLUMNS = (
    "declaration_id",
    "holder_key",
    "family_name",
    "given_names",
    "birthdate",
    "trajectory_start",
    "valid_from",
    "valid_until",
    "requested_measures",
    "executing_organisation",
    "counsellor_organisation_phone",
    "counsellor_organisation_email",
)
OPTIONAL_COLUMNS = (
    "bsn",
    "street",
    "house_number",
    "postal_code",
    "city",
    "counsellor_name",
    "counsellor_direct_phone",
    "counsellor_email",
    "client_reference",
    "application_date",
    "admission_decision_date",
    "trajectory_phase",
    "extends_declaration_id",
    "pc4",
)
MAX_ROWS = 100_000
#: A holder key file is one public JWK (a few hundred bytes); anything bigger is refused
#: before it is read.
MAX_HOLDER_KEY_BYTES = 64 * 1024
#: Column separators: ``,`` (CSV) and ``;`` (what Excel writes with Dutch regional settings).
DELIMITERS = (",", ";")
#: Declaration claim -> the CSV column it comes from, so that a rejection names the column
#: the operator has to correct (the schema speaks in claim paths).
_CLAIM_COLUMNS = {
    "subject.family_name": "family_name",
    "subject.given_names": "given_names",
    "subject.birthdate": "birthdate",
    "subject.bsn": "bsn",
    "subject.address": "street",
    "subject.address.street": "street",
    "subject.address.house_number": "house_number",
    "subject.address.postal_code": "postal_code",
    "subject.address.city": "city",
    "executing_organisation": "executing_organisation",
    "executing_organisation.name": "executing_organisation",
    "counsellor.organisation_phone": "counsellor_organisation_phone",
    "counsellor.organisation_email": "counsellor_organisation_email",
    "counsellor.name": "counsellor_name",
    "counsellor.direct_phone": "counsellor_direct_phone",
    "counsellor.email": "counsellor_email",
    "counsellor.client_reference": "client_reference",
}


@dataclass(frozen=True, kw_only=True)
class BatchRow:
    """A validated row: the declaration and the holder key it will be bound to."""

    line: int
    declaration: PaymentIncapacityDeclaration
    holder_jwk: dict[str, Any]
    #: The subject's four-digit postcode area, kept in the register only (``pc4`` column).
    area: str | None = None

    @property
    def key(self) -> str:
        """The row key (declaration id)."""
        return self.declaration.declaration_id


@dataclass(frozen=True, kw_only=True)
class RejectedRow:
    """A row refused before any signing, with the field and the reason."""

    line: int
    row_key: str | None
    field: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "line": self.line,
            "row_key": self.row_key,
            "field": self.field,
            "message": self.message,
        }


@dataclass(frozen=True, kw_only=True)
class BatchReport:
    """The outcome of a batch run."""

    issued: tuple[str, ...]
    already_done: tuple[str, ...]
    rejected: tuple[RejectedRow, ...]
    failed: tuple[RejectedRow, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form (also written to ``batch-report.json``)."""
        return {
            "issued": list(self.issued),
            "already_done": list(self.already_done),
            "rejected": [r.to_json() for r in self.rejected],
            "failed": [r.to_json() for r in self.failed],
        }


def _holder(value: str, base: Path) -> dict[str, Any]:
    try:
        return _holder_jwk(value, base)
    except InvalidDataError:
        raise
    except BlauweKnopError as e:
        raise _bad_holder(e.message) from e


def _bad_holder(message: str) -> InvalidDataError:
    return InvalidDataError("invalid_data", f"holder_key: {message}", field="holder_key")


def _holder_jwk(value: str, base: Path) -> dict[str, Any]:
    if value.startswith("did:jwk:"):
        return key_from_did_jwk(value).public_jwk(with_kid=False)
    p = Path(value)
    if p.is_absolute() or ".." in p.parts:
        raise _bad_holder("use a did:jwk or a path inside the batch folder")
    # A regular file of bounded size only: a FIFO would hang the run, a huge (sparse) file
    # would exhaust memory.
    data = read_small_regular_file(base / p, max_bytes=MAX_HOLDER_KEY_BYTES, what="holder key")
    jwk = parse_json_object(data, what="holder key")
    if "d" in jwk:
        raise _bad_holder("must be a public key")
    return Key.from_jwk(jwk).public_jwk(with_kid=False)


def _claims(row: dict[str, str], issuer: Issuer) -> dict[str, Any]:
    def opt(name: str) -> str | None:
        v = row.get(name, "")
        return v if v else None

    oin = issuer.issuer_id.removeprefix("urn:oin:")
    subject: dict[str, Any] = {
        "family_name": row["family_name"],
        "given_names": row["given_names"],
        "birthdate": row["birthdate"],
    }
    address = ("street", "house_number", "postal_code", "city")
    if any(opt(c) for c in address):
        subject["address"] = {c: row.get(c, "") for c in address}
    if opt("bsn"):
        subject["bsn"] = row["bsn"]
    counsellor: dict[str, Any] = {
        "organisation_phone": row["counsellor_organisation_phone"],
        "organisation_email": row["counsellor_organisation_email"],
    }
    for src, dst in (
        ("counsellor_name", "name"),
        ("counsellor_direct_phone", "direct_phone"),
        ("counsellor_email", "email"),
        ("client_reference", "client_reference"),
    ):
        if opt(src):
            counsellor[dst] = row[src]
    claims: dict[str, Any] = {
        "declaration_id": row["declaration_id"],
        "municipality": {
            "name": issuer.name,
            "code": issuer.config.get("municipality_code", ""),
            "oin": oin,
        },
        "executing_organisation": {"name": row["executing_organisation"]},
        "payment_incapacity": True,
        "admitted_to_debt_relief": True,
        "trajectory_start": row["trajectory_start"],
        "valid_from": row["valid_from"],
        "valid_until": row["valid_until"],
        "requested_measures": [
            m.strip() for m in row["requested_measures"].split(";") if m.strip()
        ],
        "counsellor": counsellor,
        "subject": subject,
    }
    for name in (
        "application_date",
        "admission_decision_date",
        "trajectory_phase",
        "extends_declaration_id",
    ):
        if opt(name):
            claims[name] = row[name]
    return claims


def read_batch(
    path: str | os.PathLike[str],
    issuer: Issuer,
    *,
    format: str = "sd-jwt",  # noqa: A002 - the same keyword as Issuer.issue
    now: float | None = None,
) -> tuple[list[BatchRow], list[RejectedRow]]:
    """Read and validate every row. Nothing is signed here.

    The columns are separated by ``,`` or ``;`` (Excel with Dutch settings), read from the
    header line. Rejected: missing, unknown or repeated columns (the whole file), rows that are
    not UTF-8, formula-like fields (CSV injection), duplicate row keys (every occurrence after
    the first), row keys that cannot name an output file, and any row whose declaration fails
    validation (schema, dates, BSN eleven-test...) or that :meth:`Issuer.check_issuable`
    refuses (a validity window already in the past at ``now``, a holder key that is not a
    public key...), so a row that passes here does not fail while issuing for those reasons.
    A rejection names the line where the row starts (the header is line 1) and the CSV
    column to correct.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise InvalidDataError("invalid_data", f"cannot read {p}: {e.strerror}") from e
    text = raw.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    delimiter = _delimiter(text, p)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, [])
    except csv.Error as e:
        raise InvalidDataError("invalid_data", f"{p}: not a CSV file: {e}") from e
    for problem, names in (
        ("missing", [c for c in REQUIRED_COLUMNS if c not in header]),
        ("unknown", [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]),
        ("repeated", sorted({c for c in header if header.count(c) > 1})),
    ):
        if names:
            shown = [_printable(c) or "" for c in names]
            raise InvalidDataError(
                "invalid_data", f"{p}: {problem} column(s): {', '.join(shown)}", field=shown[0]
            )
    rows: list[BatchRow] = []
    rejected: list[RejectedRow] = []
    seen: dict[str, int] = {}
    count = 0
    try:
        for line, fields in _records(reader):
            count += 1
            if count > MAX_ROWS:
                raise InvalidDataError("invalid_data", f"{p}: more than {MAX_ROWS} rows")
            rec = dict(zip(header, fields, strict=False))
            key = rec.get("declaration_id") or None
            try:
                if len(fields) != len(header):
                    raise InvalidDataError(
                        "invalid_data",
                        f"{len(fields)} fields where the header has {len(header)} columns",
                    )
                row = _check_row(rec, key, line, seen, issuer, p.parent)
                issuer.check_issuable(
                    row.declaration, holder_jwk=row.holder_jwk, format=format, now=now
                )
                rows.append(row)
                seen[row.key] = line
            except BlauweKnopError as e:
                field, message = _column_of(getattr(e, "field", None), e.message)
                rejected.append(
                    RejectedRow(line=line, row_key=_printable(key), field=field, message=message)
                )
    except csv.Error as e:
        raise InvalidDataError("invalid_data", f"{p}: CSV syntax error: {e}") from e
    return rows, rejected


def _delimiter(text: str, p: Path) -> str:
    """The column separator, from the header line: ``,`` or ``;``. Column names hold neither,
    so the header tells them apart; a tab-separated export is refused with advice."""
    header = text.split("\n", 1)[0]
    for d in DELIMITERS:
        if d in header:
            return d
    if "\t" in header:
        raise InvalidDataError(
            "invalid_data",
            f"{p}: found tabs between the columns; save the sheet as CSV, separated by "
            "commas ',' or semicolons ';'",
        )
    return ","


def _records(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """Non-empty records with the physical line each starts on (a quoted field may span
    lines; blank lines are skipped, as spreadsheets export them)."""
    start = reader.line_num + 1
    for fields in reader:
        if fields:
            yield start, fields
        start = reader.line_num + 1


def _column_of(field: str | None, message: str) -> tuple[str | None, str]:
    """Name the CSV column instead of the declaration claim path (``subject.bsn`` -> ``bsn``;
    ``requested_measures[1]`` -> ``requested_measures``)."""
    if not field:
        return None, message
    path = re.sub(r"\[[0-9*]+\]", "", field)
    column = _CLAIM_COLUMNS.get(path, path if "." not in path else field)
    if column != field and message.startswith(field + ":"):
        message = column + message[len(field) :]
    return column, message


def _printable(value: str | None) -> str | None:
    if value is None:
        return None
    return value.encode("utf-8", "replace").decode("utf-8", "replace")[:100]


def _check_row(
    rec: dict[str, str],
    key: str | None,
    line: int,
    seen: dict[str, int],
    issuer: Issuer,
    base: Path,
) -> BatchRow:
    for name, value in rec.items():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InvalidDataError(
                "invalid_data",
                f"{name}: not valid UTF-8 (save the file as UTF-8, not Latin-1/ANSI)",
                field=name,
            ) from e
        if name != "holder_key":
            # The same rule as for every issued text claim (Issuer.check_issuable), applied
            # to the raw columns too, so the column to correct is named.
            check_spreadsheet_safe(value, path=name)
    if key in seen:
        raise InvalidDataError(
            "invalid_data", f"declaration_id: duplicate of line {seen[key]}", field="declaration_id"
        )
    for c in REQUIRED_COLUMNS:
        if not rec.get(c):
            raise InvalidDataError("invalid_data", f"{c}: required", field=c)
    holder = _holder(rec["holder_key"], base)
    decl = PaymentIncapacityDeclaration.from_claims(_claims(rec, issuer))
    if "/" in decl.declaration_id:
        # The id names the output file; the schema allows "/" in identifiers, a file name not.
        raise InvalidDataError(
            "invalid_data",
            "declaration_id: must not contain '/' (it names the output file)",
            field="declaration_id",
        )
    area = rec.get("pc4") or None
    if area is not None and not (
        len(area) == 4 and area.isascii() and area.isdigit() and area[0] != "0"
    ):
        raise InvalidDataError("invalid_data", "pc4: four digits, e.g. 5611", field="pc4")
    return BatchRow(line=line, declaration=decl, holder_jwk=holder, area=area)


def issue_batch(
    issuer: Issuer,
    rows: list[BatchRow],
    out_dir: str | os.PathLike[str],
    *,
    format: str = "sd-jwt",  # noqa: A002 - the same keyword as Issuer.issue
    progress: Callable[[str, str], None] | None = None,
) -> tuple[list[str], list[str], list[RejectedRow]]:
    """Issue every row not issued before; returns (issued, already_done, failed).

    Group commit, a chunk of rows at a time (16, doubling up to 512): reserve every row of
    the chunk in the register (keyed by the row key) in one transaction, sign each and write
    its file, make all the chunk's files durable with one sync, then confirm the chunk in one
    transaction. Only a confirmed row is reported issued (and passed to ``progress``), so a
    confirmed row's file survives a crash or a power cut. A rerun after a crash finds
    confirmed rows done and re-signs pending ones (at most one chunk) with the same id and
    status index, so each row is issued exactly once. A register that cannot be reached
    (``register_unavailable``) stops the run: run it again.
    A row already in the register under another batch row, format or holder key, or
    revoked and missing its file, is reported as failed and not signed. A failing row
    never stops the others.

    The whole run holds the issuer home's write lock (:meth:`Issuer.exclusive`): a second
    run on the same home at the same time waits ``lock_timeout`` seconds, then stops with
    ``StorageError("home_locked")`` before touching anything. ``out_dir`` is created ``0700``
    and every credential file is ``0600`` (they hold BSN, name and birthdate).
    """
    out = make_private_dir(out_dir)  # credentials hold personal data: 0700, files 0600
    # One batch at a time per home: a second run waits, then fails with home_locked.
    with issuer.exclusive():
        # A restored (older) register refuses the whole run, not row by row.
        issuer.register.check_fence()
        return _issue_rows(issuer, rows, out, format, progress)


#: Rows per group commit. The first chunk is small (progress shows at once and an early
#: crash costs little), then each chunk doubles up to :data:`CHUNK_MAX` rows.
CHUNK_FIRST = 16
CHUNK_MAX = 512


def _chunks(rows: list[BatchRow], first: int, most: int) -> Iterator[list[BatchRow]]:
    i, n = 0, max(1, first)
    while i < len(rows):
        yield rows[i : i + n]
        i += n
        n = min(n * 2, max(1, most))


def _issue_rows(
    issuer: Issuer,
    rows: list[BatchRow],
    out: Path,
    format: str,  # noqa: A002 - the same keyword as Issuer.issue
    progress: Callable[[str, str], None] | None,
    chunk_first: int = CHUNK_FIRST,
    chunk_max: int = CHUNK_MAX,
) -> tuple[list[str], list[str], list[RejectedRow]]:
    """Issue the rows chunk by chunk with group commit (module :mod:`blauweknop._register.
    _durable`): per chunk one register transaction reserves every row (``pending``), the
    rows are signed and their files written, ONE sync makes all files durable, and one
    transaction confirms them (``valid``). Only then are they reported as issued. A crash
    anywhere leaves at most one chunk ``pending``; the resumed run signs those again with
    the same id and index (exactly once)."""
    issued: list[str] = []
    done: list[str] = []
    failed: list[RejectedRow] = []
    for chunk in _chunks(rows, chunk_first, chunk_max):
        outcomes = _issue_chunk(issuer, chunk, out, format)
        for row, (what, problem) in zip(chunk, outcomes, strict=True):
            if what == "issued":
                issued.append(row.key)
            elif what == "done":
                done.append(row.key)
            else:
                field, code, message = problem or (None, "storage_error", "not issued")
                failed.append(
                    RejectedRow(
                        line=row.line, row_key=row.key, field=field, message=f"{code}: {message}"
                    )
                )
            if progress:
                progress(row.key, what)
    return issued, done, failed


_Problem = tuple[str | None, str, str]


def _issue_chunk(
    issuer: Issuer,
    chunk: list[BatchRow],
    out: Path,
    format: str,  # noqa: A002 - the same keyword as Issuer.issue
) -> list[tuple[str, _Problem | None]]:
    """One group commit; returns ``("issued"|"done"|"failed", problem)`` per row, in order."""
    encoding = format_for_option(format)
    suffix, register_format = encoding.file_suffix, encoding.id
    register = issuer.register
    outcome: list[tuple[str, _Problem | None]] = [("failed", None)] * len(chunk)

    def fail(i: int, e: BlauweKnopError) -> None:
        outcome[i] = ("failed", (getattr(e, "field", None), e.code, e.message))

    existing = register.get_many([row.key for row in chunk])
    now = int(time.time())
    base = out.resolve()
    # 1. what to sign: rows not done, not refused
    todo: list[tuple[int, Path, _Signing]] = []
    for i, row in enumerate(chunk):
        try:
            # A bad name fails this row only; the other rows still go ahead.
            target = _output_path(base, row.key + suffix)
            ex = existing.get(row.key)
            if ex is not None:
                problem = _resume_problem(ex, row, register_format)
                if problem is not None:
                    outcome[i] = ("failed", problem)
                    continue
                if ex.state != "pending" and target.exists():
                    outcome[i] = ("done", None)
                    continue
                if ex.state == "revoked":
                    outcome[i] = (
                        "failed",
                        (
                            "declaration_id",
                            "illegal_transition",
                            f"{row.key} was issued and then revoked; its file is not in "
                            f"{out}, and a revoked declaration is not signed again",
                        ),
                    )
                    continue
            todo.append((i, target, _signing(issuer, row, now, ex)))
        except BlauweKnopError as e:
            fail(i, e)
    if not todo:
        return outcome
    # 2. phase 1 for the whole chunk: one transaction, one durable commit
    reservations = register.reserve_many(
        [
            ReserveRequest(
                credential_id=chunk[i].key,
                credential_type=sig.vct,
                credential_format=register_format,
                holder_thumbprint=sig.holder.kid,
                bsn=sig.bsn,
                valid_from=sig.nbf if sig.nbf is not None else now,
                valid_until=sig.exp,
                batch_row_key=chunk[i].key,
            )
            for i, _, sig in todo
        ]
    )
    # 3. sign and write every file of the chunk (not yet synced)
    written: list[tuple[int, Path, str]] = []
    for (i, target, sig), res in zip(todo, reservations, strict=True):
        row = chunk[i]
        try:
            if isinstance(res, BlauweKnopError):
                raise res
            if res.credential_id != row.key:
                raise InvalidDataError(
                    "invalid_data",
                    f"batch row {row.key!r} was issued before as {res.credential_id!r}",
                )
            text = encoding.issue(
                sig.profile,
                sig.claims,
                signer=issuer.signer,
                issuer_id=issuer.issuer_id,
                holder=sig.holder,
                iat=now,
                nbf=sig.nbf,
                exp=sig.exp if not res.resumed else (sig.registered_exp or sig.exp),
                status=res,
            )
            # A pending row's file is written in place: until the chunk is confirmed nobody
            # counts it, and a resumed run overwrites it. A confirmed row (its file went
            # missing) is replaced atomically.
            write_unsynced(
                target,
                (text + "\n").encode(),
                mode=PRIVATE_FILE_MODE,
                atomic=res.state != "pending",
            )
        except BlauweKnopError as e:
            fail(i, e)
            continue
        written.append((i, target, res.state))
    if not written:
        return outcome
    # 4. ONE sync for the chunk's files: from here a confirmed row's file survives a power cut
    try:
        sync_chunk(out, [t for _, t, _ in written])
    except StorageError as e:
        for i, _, _ in written:
            fail(i, e)
        return outcome
    # 5. phase 2 for the whole chunk: one transaction; only now are the rows "issued"
    to_confirm = [(i, chunk[i].key) for i, _, state in written if state == "pending"]
    errors = dict(
        zip(
            [i for i, _ in to_confirm],
            register.confirm_many([key for _, key in to_confirm]),
            strict=True,
        )
    )
    for i, _, _ in written:
        err = errors.get(i)
        if err is not None:
            fail(i, err)
        else:
            outcome[i] = ("issued", None)
            row = chunk[i]
            if row.area is not None:
                # after the confirm: the area signal is statistics, recorded once per
                # credential (a repeat by a resumed run changes nothing)
                issuer._record_area(
                    row.key, row.declaration.to_claims(), row.area, issuer._area_party()
                )
    return outcome


@dataclass(frozen=True, kw_only=True, slots=True)
class _Signing:
    """What signing one row needs, worked out before its chunk is reserved."""

    profile: Any
    claims: dict[str, Any]
    vct: str
    holder: Key
    bsn: str | None
    nbf: int | None
    exp: int
    registered_exp: int | None


class _WithClaims:
    """A row's model with its claims built once (what :meth:`Issuer._validity` reads)."""

    def __init__(self, data: PaymentIncapacityDeclaration, claims: dict[str, Any]) -> None:
        self._data = data
        self._claims = claims

    def to_claims(self) -> dict[str, Any]:
        return self._claims

    def profile(self) -> Any:
        return self._data.profile()


def _output_path(base: Path, name: str) -> Path:
    """``base/name`` for a credential file (``base`` resolved): the rules of
    :func:`safe_output_path` without resolving every row -- no separator, no ``.``/``..``,
    and no symbolic link at the target (a link is never followed nor replaced)."""
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise StorageError("path_traversal", f"refusing output file name {name!r}")
    target = base / name
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return target
    except OSError as e:
        raise StorageError("storage_write_failed", f"cannot use {target}: {e.strerror}") from e
    if stat.S_ISLNK(st.st_mode):
        raise StorageError("path_traversal", f"refusing output path {name!r}: a symbolic link")
    if stat.S_ISDIR(st.st_mode):
        raise StorageError("file_exists", f"{target} is a directory")
    return target


def _signing(issuer: Issuer, row: BatchRow, now: int, ex: CredentialRecord | None) -> _Signing:
    """The checks :meth:`Issuer.issue` runs that can change after :func:`read_batch` ran them
    (the validity window against the clock; a public holder key), and the signing inputs."""
    data = row.declaration
    profile = data.profile()
    profile.check_issuer_roles(issuer.config["roles"], issuer.issuer_id)
    holder = Key.from_jwk(row.holder_jwk)
    if holder.has_private:
        raise InvalidDataError("invalid_data", "holder key must be public", field="holder_key")
    claims = data.to_claims()  # once: building the claims costs more than signing them
    nbf, exp = issuer._validity(cast("Any", _WithClaims(data, claims)), now, None)
    return _Signing(
        profile=profile,
        claims=claims,
        vct=profile.vct,
        holder=holder,
        bsn=(claims.get("subject") or {}).get("bsn"),
        nbf=nbf,
        exp=exp,
        registered_exp=ex.valid_until if ex is not None else None,
    )


def _resume_problem(
    existing: CredentialRecord, row: BatchRow, register_format: str
) -> tuple[str, str, str] | None:
    """Why a row already in the register must not be signed (again) by this run, if it must
    not: ``(field, code, message)``. Signing again keeps the id and status index, so it is
    only right for the same batch row, format and holder."""
    key = row.key
    if existing.batch_row_key != key:
        return (
            "declaration_id",
            "credential_exists",
            f"{key} was already issued outside a batch; use a new declaration_id",
        )
    if existing.format != register_format:
        fmt = format_for(existing.format).option
        return (
            "declaration_id",
            "credential_exists",
            f"{key} was issued as {existing.format}; rerun with --format {fmt} "
            "or use a new declaration_id",
        )
    if existing.holder_thumbprint != Key.from_jwk(row.holder_jwk).kid:
        return (
            "holder_key",
            "credential_exists",
            f"{key} was issued to another holder key; a declaration is never re-bound, "
            "use a new declaration_id",
        )
    return None


def write_report(out_dir: str | os.PathLike[str], report: BatchReport) -> Path:
    """Write ``batch-report.json`` into ``out_dir`` (atomically, mode 0600: it names rows)."""
    target = Path(out_dir) / "batch-report.json"
    atomic_write(
        target, (json.dumps(report.to_json(), indent=2) + "\n").encode(), mode=PRIVATE_FILE_MODE
    )
    return target
