"""Crash-safe output files for tools built on ``blauweknop``.

Writing a credential or a signed list must not leave half a file behind after a crash, and a
credential names a person, so it is written for its owner only. These are the helpers the
``blauweknop`` and ``rodeknop`` CLIs use.

Example:
    >>> import tempfile, pathlib
    >>> from blauweknop.files import atomic_write
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write(folder / "trust-list.jwt", b"eyJ...")
    >>> (folder / "trust-list.jwt").read_bytes()
    b'eyJ...'
"""

from ._files import atomic_write, credential_writer

__all__ = ["atomic_write", "credential_writer"]
