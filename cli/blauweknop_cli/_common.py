"""Shared CLI plumbing: one error handler, JSON output, passphrases, file reading.

Exit codes (docs/cli.md): 0 success, 1 rejected (a credential or presentation failed
verification, including one that cannot be parsed; the reason code is printed), 2 bad usage,
unreadable files, invalid data for issuance, storage problems.

Output with ``--json``: every outcome is exactly one JSON object on standard output.

* success: ``{"ok": true, ...}`` with the command's own fields;
* rejection (exit 1) or error (exit 2, including click usage errors and unexpected
  exceptions, which get the code ``internal_error`` and no traceback):
  ``{"ok": false, "code": "<reason code>", "message": "<explanation>"}``.

Without ``--json``, errors go to standard error as ``rejected [code]: message`` (exit 1) or
``error [code]: message`` (exit 2).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn, TypeVar

import click

from blauweknop import BlauweKnopError, InvalidDataError, StorageError, parse_json

F = TypeVar("F", bound=Callable[..., Any])

#: Errors that mean "the input was examined and rejected" (exit 1) in verifying commands:
#: everything but storage and usage problems. A presentation that cannot be parsed is a
#: rejection too (docs/cli.md).
NOT_REJECTIONS = (StorageError, InvalidDataError)
PASSPHRASE_ENV = "BLAUWEKNOP_WALLET_PASSPHRASE"  # noqa: S105 (a variable name)
#: Set to 1 to see the traceback of an unexpected error instead of ``internal_error``.
DEBUG_ENV = "BLAUWEKNOP_DEBUG"
#: Exit code after Ctrl-C (the shell's convention for SIGINT).
EXIT_INTERRUPTED = 130


class CliError(click.ClickException):
    """An outcome other than success: a reason code, a message and the exit code.

    Raised by :func:`fail` and by :func:`handle_errors` (from a library error); rendered once,
    by :class:`JsonGroup`, as text on standard error or as one JSON object on standard output.
    """

    def __init__(
        self, code: str, message: str, *, exit_code: int = 2, as_json: bool = False
    ) -> None:
        super().__init__(message)
        self.code = code
        self.exit_code = exit_code  # type: ignore[misc]  # click declares a class default
        self.as_json = as_json

    def to_json(self) -> dict[str, Any]:
        """The documented error object: ``{"ok": false, "code": ..., "message": ...}``."""
        return {"ok": False, "code": self.code, "message": self.message}

    def show(self, file: IO[Any] | None = None) -> None:
        """Print the outcome: JSON on stdout with ``--json``, else one line on stderr."""
        if self.as_json:
            click.echo(json.dumps(self.to_json(), ensure_ascii=False))
            return
        prefix = "rejected" if self.exit_code == 1 else "error"
        click.echo(f"{prefix} [{self.code}]: {self.message}", err=True)


class Rejected(CliError):
    """A verification rejection: exit code 1 with the reason code."""

    def __init__(self, code: str, message: str, *, as_json: bool = False) -> None:
        super().__init__(code, message, exit_code=1, as_json=as_json)


def fail(code: str, message: str, *, exit_code: int = 2, as_json: bool = False) -> NoReturn:
    """Stop the command with an error ``code`` (exit 2 unless ``exit_code``).

    The message is printed once, as ``error [code]: message`` on stderr or, with ``--json``,
    as ``{"ok": false, ...}`` on stdout (see :class:`JsonGroup`).
    """
    raise CliError(code, message, exit_code=exit_code, as_json=as_json)


def handle_errors(*, rejections: bool = False) -> Callable[[F], F]:
    """Map library errors to exit codes: rejections → 1 (if ``rejections``), others → 2."""

    def deco(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            as_json = bool(kwargs.get("as_json"))
            try:
                return fn(*args, **kwargs)
            except CliError as e:
                e.as_json = e.as_json or as_json
                raise
            except BlauweKnopError as e:
                code = 1 if rejections and not isinstance(e, NOT_REJECTIONS) else 2
                raise CliError(e.code, e.message, exit_code=code, as_json=as_json) from e

        return wrapper  # type: ignore[return-value]

    return deco


def wants_json(args: Sequence[str]) -> bool:
    """Whether the command line asks for ``--json`` (before a ``--`` that ends the options)."""
    for a in args:
        if a == "--":
            return False
        if a == "--json":
            return True
    return False


class JsonGroup(click.Group):
    """A command group whose ``main`` is the one error handler of the CLI.

    Every outcome that is not a success is turned into a :class:`CliError` and shown once:
    library errors (through :func:`handle_errors`), click usage errors (``bad_usage``), an
    interruption (``interrupted``, exit 130) and unexpected exceptions (``internal_error``,
    without a traceback unless ``BLAUWEKNOP_DEBUG=1``). With ``--json`` on the command line,
    the error is one JSON object on standard output.
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command; exit with 0, 1 or 2 (130 after Ctrl-C)."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        as_json = wants_json(argv)
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
        except CliError as e:
            e.as_json = e.as_json or as_json
            e.show()
            sys.exit(e.exit_code)
        except click.UsageError as e:
            if not as_json:
                e.show()
                sys.exit(2)
            CliError("bad_usage", e.format_message(), as_json=True).show()
            sys.exit(2)
        except click.ClickException as e:  # e.g. click.FileError
            code = "file_unreadable" if isinstance(e, click.FileError) else "bad_usage"
            CliError(code, e.format_message(), as_json=as_json).show()
            sys.exit(2)
        except (click.Abort, KeyboardInterrupt, EOFError):
            CliError(
                "interrupted", "interrupted", exit_code=EXIT_INTERRUPTED, as_json=as_json
            ).show()
            sys.exit(EXIT_INTERRUPTED)
        except BlauweKnopError as e:  # a command without @handle_errors
            CliError(e.code, e.message, as_json=as_json).show()
            sys.exit(2)
        except Exception as e:  # the last resort: a code and a message, no traceback
            if os.environ.get(DEBUG_ENV) == "1":
                raise
            message = (
                f"unexpected {type(e).__name__}: {e}; please report it "
                f"(set {DEBUG_ENV}=1 to see the traceback)"
            )
            CliError("internal_error", message, as_json=as_json).show()
            sys.exit(2)
        sys.exit(rv if isinstance(rv, int) else 0)


def read_bytes(path: str | Path, what: str) -> bytes:
    """Read an input file or stop with ``file_unreadable`` (``-`` reads standard input)."""
    if str(path) == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as e:
        fail("file_unreadable", f"cannot read {what} {path}: {e.strerror}")


def check_readable(path: str | Path, what: str) -> None:
    """Stop with ``file_unreadable`` unless ``path`` is a file that can be opened for reading."""
    try:
        with Path(path).open("rb"):
            pass
    except OSError as e:
        fail("file_unreadable", f"cannot read {what} {path}: {e.strerror}")


def read_json_object(
    path: str | Path, what: str, *, max_bytes: int = 4 * 1024 * 1024
) -> dict[str, Any]:
    """Read a JSON object file strictly (duplicate keys, NaN... refused) or stop (exit 2)."""
    data = read_bytes(path, what)
    try:
        value = parse_json(data, what=f"{what} {path}", max_bytes=max_bytes)
    except BlauweKnopError as e:
        fail(e.code, e.message)
    if not isinstance(value, dict):
        fail("malformed_json", f"{what} {path} is not a JSON object")
    return value


def read_json(path: str | Path, what: str) -> Any:
    """Read any JSON value strictly or stop (exit 2)."""
    data = read_bytes(path, what)
    try:
        return parse_json(data, what=f"{what} {path}", max_bytes=4 * 1024 * 1024)
    except BlauweKnopError as e:
        fail(e.code, e.message)


def echo_json(value: Any) -> None:
    """Print indented JSON to stdout."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def done(as_json: bool, text: str, **fields: Any) -> None:
    """Report a success: ``text`` on stdout, or with ``--json`` ``{"ok": true, **fields}``."""
    if as_json:
        echo_json({"ok": True, **fields})
    else:
        click.echo(text)


def warn(message: str) -> None:
    """A warning on stderr (never on stdout, which ``--json`` keeps for the one object)."""
    click.echo(f"warning: {message}", err=True)


JSON_OPTION = click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Machine-readable output: one JSON object on stdout, {"ok": true, ...} or '
    '{"ok": false, "code": ..., "message": ...}.',
)


def wallet_secret(*, confirm: bool = False) -> str:
    """The wallet passphrase from ``BLAUWEKNOP_WALLET_PASSPHRASE`` or a hidden prompt."""
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    if not sys.stdin.isatty():
        fail("passphrase_missing", f"set {PASSPHRASE_ENV} or run in a terminal to be prompted")
    return str(
        click.prompt("Wallet passphrase", hide_input=True, confirmation_prompt=confirm, err=True)
    )


def write_output(
    path: str | Path, data: str | bytes, *, force: bool = False, mode: int = 0o644
) -> Path:
    """Write an output file atomically; refuse to overwrite unless ``force``."""
    from blauweknop.files import atomic_write

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
