"""A chart of (combined) area figures per PC4 area: matplotlib with the Agg backend, written
as PNG and SVG. matplotlib is the ``charts`` extra: ``pip install blauweknop[charts]``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .._errors import InvalidDataError
from ._tables import TOTAL

__all__ = ["render_chart"]

_LABELS = {
    "rode_knop": "Rode Knop declaration",
    "outstanding": "outstanding statement",
    "arrears": "arrears",
    "arrears_2plus": "arrears at 2+ creditors",
}


def render_chart(
    report: Any, out: str | os.PathLike[str], *, title: str | None = None
) -> list[Path]:
    """Draw ``report`` (an :class:`AreaReport` or :class:`CombinedReport`): grouped bars per
    PC4 area for the people measures; a suppressed cell is an empty bar marked ``<k``. Writes
    ``<out>.png`` and ``<out>.svg`` (``out`` without suffix) and returns both paths."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - the charts extra is missing
        raise InvalidDataError(
            "charts_unavailable", "charts need matplotlib: pip install 'blauweknop[charts]'"
        ) from e
    measures = [m for m in report.measures if m in _LABELS]
    areas = sorted(a for a in report.areas if a != TOTAL)
    if not areas:
        raise InvalidDataError("invalid_data", "the report has no areas to draw")
    width = 0.8 / max(1, len(measures))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(areas) + 2), 4.0), dpi=80)
    try:
        for i, m in enumerate(measures):
            xs = [j + (i - (len(measures) - 1) / 2) * width for j in range(len(areas))]
            values = [report.areas[a][m] for a in areas]
            heights = [0 if v is None else v for v in values]
            ax.bar(xs, heights, width=width, label=_LABELS[m])
            for x, v in zip(xs, values, strict=True):
                if v is None:
                    ax.text(x, 0.2, f"<{report.k}", ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(areas)), areas)
        ax.set_xlabel("PC4 area")
        ax.set_ylabel("people")
        ax.set_title(title or f"Area signals {report.period} (cells below {report.k} suppressed)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        base = Path(out)
        paths = [base.with_suffix(".png"), base.with_suffix(".svg")]
        base.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(paths[0], metadata={"Software": None})
        fig.savefig(paths[1], metadata={"Date": None, "Creator": None})
    finally:
        plt.close(fig)
    return paths
