"""Copy the example data with every date moved to stay current.

The files in ``examples/data/`` were written on the pilot's day, 22 November 2026: the pause
windows in ``rode-knop-declaration.json`` and ``batch/*.csv`` run from mid-November 2026 to
mid-March 2027, and an issuer refuses a window that lies in the past. This program copies a folder
of example data and moves every date (``YYYY-MM-DD``, also the date part of a date-time) by the
days passed since the pilot's day, counted in Europe/Amsterdam, so the copy reads as if it were
written today. Birthdates are kept. Files other than ``.json`` and ``.csv`` (holder keys, README)
are copied unchanged, so the holder-key paths in a CSV still resolve.

A real case system exports today's admissions; this stands in for it.

    Run: python examples/shift_dates.py SOURCE_DIR TARGET_DIR
         python examples/shift_dates.py examples/data demo-out/data
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

#: The day the example data were written; their windows lie around it.
EXAMPLES_DATED = dt.date(2026, 11, 22)
#: Fields that describe a person, not the case: never moved.
KEPT = frozenset({"birthdate"})
DATE = re.compile(r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})(?P<rest>T[0-9:.]+(?:Z|[+-][0-9:]+)?)?")


def days_since_dated(today: dt.date | None = None) -> int:
    """Days from the pilot's day to ``today`` (default: today in Europe/Amsterdam)."""
    if today is None:
        today = dt.datetime.now(ZoneInfo("Europe/Amsterdam")).date()
    return (today - EXAMPLES_DATED).days


def shift_value(value: str, days: int) -> str:
    """``value`` moved by ``days`` when it is a date or date-time; any other text unchanged."""
    m = DATE.fullmatch(value)
    if not m or not days:
        return value
    try:
        moved = dt.date.fromisoformat(m.group("date")) + dt.timedelta(days=days)
    except ValueError:
        return value
    return moved.isoformat() + (m.group("rest") or "")


def shift_json(value: Any, days: int, key: str = "") -> Any:
    """A JSON value with every date in it moved, except under the kept field names."""
    if isinstance(value, dict):
        return {k: shift_json(v, days, k) for k, v in value.items()}
    if isinstance(value, list):
        return [shift_json(v, days, key) for v in value]
    if isinstance(value, str) and key not in KEPT:
        return shift_value(value, days)
    return value


def shift_csv(text: str, days: int) -> str:
    """A CSV file (first row the header) with every date moved, except in the kept columns."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        return text
    header = rows[0]
    out = [header]
    for row in rows[1:]:
        out.append(
            [
                v if i < len(header) and header[i] in KEPT else shift_value(v, days)
                for i, v in enumerate(row)
            ]
        )
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerows(out)
    return buf.getvalue()


def shift_tree(source: Path, target: Path, days: int) -> list[Path]:
    """Copy ``source`` to ``target`` (which must not exist) with the dates moved; the files."""
    if target.exists():
        raise FileExistsError(f"{target} exists: choose a new folder")
    written = []
    for src in sorted(source.rglob("*")):
        dst = target / src.relative_to(source)
        if src.is_dir():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.suffix == ".json":
            value = shift_json(json.loads(src.read_text("utf-8")), days)
            dst.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", "utf-8")
        elif src.suffix == ".csv":
            dst.write_text(shift_csv(src.read_text("utf-8"), days), "utf-8")
        else:
            shutil.copyfile(src, dst)
        written.append(dst)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="folder of example data (examples/data)")
    parser.add_argument("target", type=Path, help="new folder for the copy")
    args = parser.parse_args(argv)
    if not args.source.is_dir():
        parser.error(f"{args.source} is not a folder")
    days = days_since_dated()
    try:
        files = shift_tree(args.source, args.target, days)
    except FileExistsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{len(files)} file(s) copied to {args.target}, dates moved by {days} day(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
