"""Opening a register by where it lives: a SQLite file path, or a PostgreSQL URL."""

from __future__ import annotations

import os
from typing import Any

from .._errors import InvalidDataError
from ._postgres import PostgresRegister, is_postgres_url
from ._store import Register

__all__ = ["open_register"]


def open_register(where: str | os.PathLike[str], **options: Any) -> Register | PostgresRegister:
    """Open the register at ``where``: ``postgresql://...`` (or ``postgres://``) is a
    :class:`PostgresRegister`, anything else the path of a SQLite :class:`Register`.
    ``options`` are those of the backend's ``open`` (``bsn_key``, ``status_base_uri``,
    ``list_size``, ``bits``, ``clock``, ``fence``, ``busy_timeout``...).

    >>> import tempfile, os
    >>> reg = open_register(os.path.join(tempfile.mkdtemp(), "r.db"))
    >>> type(reg).__name__
    'Register'
    >>> reg.close()
    """
    if isinstance(where, str) and is_postgres_url(where):
        if options.pop("read_only", False):
            raise InvalidDataError(
                "invalid_data",
                "a PostgreSQL register is opened read-only with a read-only database role",
            )
        options.pop("create", None)
        return PostgresRegister.open(where, **options)
    return Register.open(where, **options)
