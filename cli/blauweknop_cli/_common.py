"""Shared CLI plumbing: error → exit-code mapping, JSON output, passphrases, file reading.

Exit codes (docs/cli.md): 0 success, 1 rejected (a credential or presentation failed
verification, including one that cannot be parsed; the reason code is printed), 2 bad usage,
unreadable files, invalid data for issuance, storage problems.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from blauweknop import BlauweKnopError, InvalidDataError, StorageError
from blauweknop._codec import parse_json, parse_json_object

F = TypeVar("F", bound=Callable[..., Any])

#: Errors that mean "the input was examined and rejected" (exit 1) in verifying commands:
#: everything but storage and usage problems. A presentation that cannot be parsed is a
#: rejection too (docs/cli.md).
NOT_REJECTIONS = (StorageError, InvalidDataError)
PASSPHRASE_ENV = "BLAUWEKNOP_WALLET_PASSPHRASE"  # noqa: S105 (a variable name)


class Rejected(click.ClickException):
    """A verification rejection: exit code 1 with the reason code."""

    exit_code = 1


def fail(code: str, message: str, *, exit_code: int = 2, as_json: bool = False) -> NoReturn:
    """Print an error (``error [code]: message`` or JSON) to stderr and exit."""
    if as_json:
        click.echo(json.dumps({"ok": False, "code": code, "message": message}), err=False)
    else:
        click.echo(f"error [{code}]: {message}", err=True)
    sys.exit(exit_code)


def handle_errors(*, rejections: bool = False) -> Callable[[F], F]:
    """Map library errors to exit codes: rejections → 1 (if ``rejections``), others → 2."""

    def deco(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            as_json = bool(kwargs.get("as_json"))
            try:
                return fn(*args, **kwargs)
            except BlauweKnopError as e:
                code = 1 if rejections and not isinstance(e, NOT_REJECTIONS) else 2
                prefix = "rejected" if code == 1 else "error"
                if as_json:
                    click.echo(json.dumps({"ok": False, "code": e.code, "message": e.message}))
                else:
                    click.echo(f"{prefix} [{e.code}]: {e.message}", err=True)
                sys.exit(code)

        return wrapper  # type: ignore[return-value]

    return deco


def read_bytes(path: str | Path, what: str) -> bytes:
    """Read an input file or exit 2 with a clear message (``-`` reads standard input)."""
    if str(path) == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as e:
        fail("file_unreadable", f"cannot read {what} {path}: {e.strerror}")
        raise  # unreachable


def read_json_object(
    path: str | Path, what: str, *, max_bytes: int = 4 * 1024 * 1024
) -> dict[str, Any]:
    """Read a JSON object file strictly (duplicate keys, NaN... refused) or exit 2."""
    data = read_bytes(path, what)
    try:
        return parse_json_object(data, what=f"{what} {path}", max_bytes=max_bytes)
    except BlauweKnopError as e:
        fail(e.code, e.message)
        raise


def read_json(path: str | Path, what: str) -> Any:
    """Read any JSON value strictly or exit 2."""
    data = read_bytes(path, what)
    try:
        return parse_json(data, what=f"{what} {path}", max_bytes=4 * 1024 * 1024)
    except BlauweKnopError as e:
        fail(e.code, e.message)
        raise


def echo_json(value: Any) -> None:
    """Print indented JSON to stdout."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def wallet_secret(*, confirm: bool = False) -> str:
    """The wallet passphrase from ``BLAUWEKNOP_WALLET_PASSPHRASE`` or a hidden prompt."""
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    if not sys.stdin.isatty():
        fail("passphrase_missing", f"set {PASSPHRASE_ENV} or run in a terminal to be prompted")
    return str(click.prompt("Wallet passphrase", hide_input=True, confirmation_prompt=confirm))


def write_output(
    path: str | Path, data: str | bytes, *, force: bool = False, mode: int = 0o644
) -> Path:
    """Write an output file atomically; refuse to overwrite unless ``force``."""
    from blauweknop._files import atomic_write

    p = Path(path)
    if p.exists() and not force:
        fail("file_exists", f"{p} exists; use --force to overwrite")
    if p.is_dir():
        fail("file_exists", f"{p} is a directory")
    try:
        atomic_write(p, data.encode() if isinstance(data, str) else data, mode=mode)
    except BlauweKnopError as e:
        fail(e.code, e.message)
    return p
