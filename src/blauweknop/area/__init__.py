"""Area signals for prevention (Postcode Preventie Aanpak, IBDS, "Zicht op"): counts of
people per four-digit postcode area (PC4), never about individuals.

Issuers record a PC4 per credential subject in their register (``Issuer.issue(area=...)``),
never in the credential. :func:`area_report` counts per area as of a monthly snapshot with
small-cell and secondary suppression (and optional differential-privacy noise) and the report
is signed (``area-report+jwt``) and verified offline (:func:`verify_area_report`). Several
issuers' figures are combined over keyed pseudonyms (:class:`Pseudonymiser`,
:func:`combine`); :func:`render_chart` draws them. See ``specs/area-report.md``.

Example:
    >>> from blauweknop.area import suppress, MEASURES
    >>> table = {"5611": dict.fromkeys(MEASURES, 12), "total": dict.fromkeys(MEASURES, 12)}
    >>> table["5611"]["arrears"] = table["total"]["arrears"] = 3
    >>> suppress(table, MEASURES, 10)["5611"]["arrears"] is None
    True
"""

from ._chart import render_chart
from ._combine import (
    AREA_EXTRACT_TYP,
    COMBINED_MEASURES,
    CombinedReport,
    PseudonymisedExtract,
    Pseudonymiser,
    combine,
    signed_extract,
)
from ._report import (
    AREA_REPORT_TYP,
    AreaReport,
    PersonSignal,
    area_report,
    period_snapshot,
    person_signals,
    verify_area_report,
)
from ._tables import BANDS, MEASURES, TOTAL, add_noise, suppress

__all__ = [
    "AREA_EXTRACT_TYP",
    "AREA_REPORT_TYP",
    "BANDS",
    "COMBINED_MEASURES",
    "MEASURES",
    "TOTAL",
    "AreaReport",
    "CombinedReport",
    "PersonSignal",
    "PseudonymisedExtract",
    "Pseudonymiser",
    "add_noise",
    "area_report",
    "combine",
    "period_snapshot",
    "person_signals",
    "render_chart",
    "signed_extract",
    "suppress",
    "verify_area_report",
]
