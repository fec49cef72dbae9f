"""Run a command as if the wall clock showed another time (libfaketime, test extra).

Used to show that the suite does not depend on the hour or the date, e.g.::

    .venv/bin/python tools/at_time.py 23:30 -- make test
    .venv/bin/python tools/at_time.py +366d12:30 -- .venv/bin/python -m pytest -n 2

``HH:MM`` is that time (UTC) today; ``+Nd`` moves the day N days ahead of today (UTC). The clock
keeps running from there. Only the child processes see the offset; nothing in the library
reads an environment variable to move its clock.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import time


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


def target(spec: str) -> dt.datetime:
    m = re.fullmatch(r"(?:\+(\d+)d)?(\d{1,2}):(\d{2})", spec)
    if not m:
        raise SystemExit(f"at_time: cannot read {spec!r}; use HH:MM or +NdHH:MM (UTC)")
    days, hour, minute = int(m[1] or 0), int(m[2]), int(m[3])
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), dt.UTC)


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--":
        raise SystemExit(__doc__)
    import libfaketime

    when = target(argv[0])
    _, additions = libfaketime.get_reload_information()
    env = {**os.environ, **additions, "FAKETIME": f"{int(when.timestamp() - real_time()):+d}"}
    print(f"at_time: running {argv[2:]} with the clock at {when:%Y-%m-%d %H:%M} UTC", flush=True)
    os.execvpe(argv[2], argv[2:], env)  # noqa: S606 (runs the command the user named)


if __name__ == "__main__":
    main(sys.argv[1:])
