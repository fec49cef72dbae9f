"""Run subprocesses under another wall clock, with libfaketime (no code of ours is changed).

The library reads the real clock; nothing in it honours an environment variable that would move
it (a verifier whose time could be set from the environment would be a security hole). Instead
the test preloads libfaketime (``LD_PRELOAD``, the ``libfaketime`` package of the test extra),
which makes ``clock_gettime``/``time`` of the child and all its children report the real time
plus a fixed offset. Every process of a session gets the same offset, so the clock still moves
forward from one command to the next.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
import time

import pytest

#: The hours (UTC) of the day the sessions run at, a year ahead: just after midnight (in
#: Amsterdam already the next day at 23:30 UTC), noon, and just before midnight.
HOURS = ((0, 30), (12, 30), (23, 30))


def real_time() -> float:
    """The real wall clock, also when this process itself runs under a libfaketime offset
    (``FAKETIME="+N"``, as set by ``tools/at_time.py``): offsets apply to the real clock, so a
    nested offset must be computed from it."""
    offset = os.environ.get("FAKETIME", "")
    try:
        return (
            time.time() - int(offset)
            if offset[:1] in "+-" and offset[1:].isdigit()
            else time.time()
        )
    except ValueError:
        return time.time()


def a_year_ahead(hour: int, minute: int) -> dt.datetime:
    """The given time of day (UTC), 366 days after today (UTC)."""
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=366)
    return dt.datetime.combine(day, dt.time(hour, minute), dt.UTC)


def faked(env: dict[str, str], when: dt.datetime) -> dict[str, str]:
    """``env`` plus what makes a child process see ``when`` as the current time.

    Skips on platforms libfaketime does not serve; on Linux the package must be installed (the
    ``test`` extra has it), so a missing install fails instead of hiding the test.
    """
    if sys.platform != "linux" or platform.machine() != "x86_64":
        # The package ships the library built for x86-64 Linux (the project's machines and CI).
        pytest.skip("libfaketime is preloaded on x86-64 Linux only")
    import libfaketime  # only where it is used: the test extra installs it on Linux only

    _, additions = libfaketime.get_reload_information()
    out = {**env, **additions}
    out["FAKETIME"] = f"{int(when.timestamp() - real_time()):+d}"
    # Our own check that the preload works: a child reports the faked time.
    p = subprocess.run(
        [sys.executable, "-c", "import time; print(time.time())"],
        env=out,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    seen = float(p.stdout)
    assert abs(seen - when.timestamp()) < 120, (
        f"libfaketime did not move the clock: the child saw {seen}, wanted {when.timestamp()}"
    )
    return out
