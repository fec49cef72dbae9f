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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blauweknop import BlauweKnopError, InvalidDataError, Issuer, Key, PolicyError, key_from_did_jwk
from blauweknop._codec import parse_json_object
from blauweknop._files import atomic_write, safe_output_path

from ._declaration import PaymentIncapacityDeclaration

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
)
#: Spreadsheet formula prefixes: a field starting with one is refused (CSV injection).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MAX_ROWS = 100_000


@dataclass(frozen=True, kw_only=True)
class BatchRow:
    """A validated row: the declaration and the holder key it will be bound to."""

    line: int
    declaration: PaymentIncapacityDeclaration
    holder_jwk: dict[str, Any]

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
        return {"line": self.line, "row_key": self.row_key, "field": self.field, "message": self.message}


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
    if value.startswith("did:jwk:"):
        return key_from_did_jwk(value).public_jwk(with_kid=False)
    p = Path(value)
    if p.is_absolute() or ".." in p.parts:
        raise InvalidDataError("invalid_data", "holder_key: use a did:jwk or a path inside the batch folder", field="holder_key")
    try:
        data = (base / p).read_bytes()
    except OSError as e:
        raise InvalidDataError("invalid_data", f"holder_key: cannot read {value}: {e.strerror}", field="holder_key") from e
    jwk = parse_json_object(data, what="holder key")
    if "d" in jwk:
        raise InvalidDataError("invalid_data", "holder_key: must be a public key", field="holder_key")
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
    if any(opt(c) for c in ("street", "house_number", "postal_code", "city")):
        subject["address"] = {c: row.get(c, "") for c in ("street", "house_number", "postal_code", "city")}
    if opt("bsn"):
        subject["bsn"] = row["bsn"]
    counsellor: dict[str, Any] = {
        "organisation_phone": row["counsellor_organisation_phone"],
        "organisation_email": row["counsellor_organisation_email"],
    }
    for src, dst in (("counsellor_name", "name"), ("counsellor_direct_phone", "direct_phone"),
                     ("counsellor_email", "email"), ("client_reference", "client_reference")):
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
        "requested_measures": [m.strip() for m in row["requested_measures"].split(";") if m.strip()],
        "counsellor": counsellor,
        "subject": subject,
    }
    for name in ("application_date", "admission_decision_date", "trajectory_phase", "extends_declaration_id"):
        if opt(name):
            claims[name] = row[name]
    return claims


def read_batch(path: str | os.PathLike[str], issuer: Issuer) -> tuple[list[BatchRow], list[RejectedRow]]:
    """Read and validate every row. Nothing is signed here.

    Rejected: missing columns (the whole file), rows that are not UTF-8, formula-like
    fields (CSV injection), duplicate row keys (every occurrence after the first), and any
    row whose declaration fails validation (schema, dates, BSN eleven-test...).
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise InvalidDataError("invalid_data", f"cannot read {p}: {e.strerror}") from e
    text = raw.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = reader.fieldnames or []
    except csv.Error as e:
        raise InvalidDataError("invalid_data", f"{p}: not a CSV file: {e}") from e
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InvalidDataError("invalid_data", f"{p}: missing column(s): {', '.join(missing)}", field=missing[0])
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise InvalidDataError("invalid_data", f"{p}: unknown column(s): {', '.join(unknown)}", field=unknown[0])
    rows: list[BatchRow] = []
    rejected: list[RejectedRow] = []
    seen: dict[str, int] = {}
    try:
        for n, rec in enumerate(_records(reader), start=2):
            if n - 1 > MAX_ROWS:
                raise InvalidDataError("invalid_data", f"{p}: more than {MAX_ROWS} rows")
            key = rec.get("declaration_id") or None
            try:
                row = _check_row(rec, key, n, seen, issuer, p.parent)
                rows.append(row)
                seen[row.key] = n
            except BlauweKnopError as e:
                rejected.append(RejectedRow(line=n, row_key=_printable(key), field=getattr(e, "field", None), message=e.message))
    except csv.Error as e:
        raise InvalidDataError("invalid_data", f"{p}: CSV syntax error: {e}") from e
    return rows, rejected


def _records(reader: csv.DictReader[str]) -> Iterator[dict[str, Any]]:
    yield from reader


def _printable(value: str | None) -> str | None:
    if value is None:
        return None
    return value.encode("utf-8", "replace").decode("utf-8", "replace")[:100]


def _check_row(rec: dict[str, Any], key: str | None, line: int, seen: dict[str, int],
               issuer: Issuer, base: Path) -> BatchRow:
    if None in rec:
        raise InvalidDataError("invalid_data", "more fields than columns")
    for name, value in rec.items():
        if value is None:
            raise InvalidDataError("invalid_data", f"{name}: missing (fewer fields than columns)", field=name)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InvalidDataError("invalid_data", f"{name}: not valid UTF-8", field=name) from e
        if value.startswith(_FORMULA_PREFIXES) and name != "holder_key":
            raise InvalidDataError("invalid_data", f"{name}: starts with a formula character", field=name)
    if key in seen:
        raise InvalidDataError(
            "invalid_data", f"declaration_id: duplicate of line {seen[key]}", field="declaration_id"
        )
    for c in REQUIRED_COLUMNS:
        if not rec.get(c):
            raise InvalidDataError("invalid_data", f"{c}: required", field=c)
    holder = _holder(rec["holder_key"], base)
    decl = PaymentIncapacityDeclaration.from_claims(_claims(rec, issuer))
    return BatchRow(line=line, declaration=decl, holder_jwk=holder)


def issue_batch(
    issuer: Issuer,
    rows: list[BatchRow],
    out_dir: str | os.PathLike[str],
    *,
    format: str = "sd-jwt",
    progress: Callable[[str, str], None] | None = None,
) -> tuple[list[str], list[str], list[RejectedRow]]:
    """Issue every row not issued before; returns (issued, already_done, failed).

    Each row: reserve in the register (keyed by the row key), sign, write the file
    atomically, confirm. A rerun after a crash finds confirmed rows done and re-signs
    pending ones with the same id and status index, so each row is issued exactly once.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    suffix = ".sd-jwt" if format == "sd-jwt" else ".vc.json"
    issued: list[str] = []
    done: list[str] = []
    failed: list[RejectedRow] = []
    for row in rows:
        target = safe_output_path(out, row.key + suffix)
        try:
            existing = issuer.register.get(row.key)
        except PolicyError:
            existing = None
        if (existing is not None and existing.state != "pending"
                and existing.batch_row_key == row.key and target.exists()):
            done.append(row.key)
            if progress:
                progress(row.key, "done")
            continue
        try:
            cred = issuer.issue(row.declaration, holder_jwk=row.holder_jwk, format=format,
                                batch_row_key=row.key, write=lambda text, t=target: atomic_write(t, (text + "\n").encode()))
        except BlauweKnopError as e:
            failed.append(RejectedRow(line=row.line, row_key=row.key, field=None, message=f"{e.code}: {e.message}"))
            if progress:
                progress(row.key, "failed")
            continue
        issued.append(cred.credential_id)
        if progress:
            progress(row.key, "issued")
    return issued, done, failed


def write_report(out_dir: str | os.PathLike[str], report: BatchReport) -> Path:
    """Write ``batch-report.json`` into ``out_dir`` (atomically)."""
    target = Path(out_dir) / "batch-report.json"
    atomic_write(target, (json.dumps(report.to_json(), indent=2) + "\n").encode())
    return target
