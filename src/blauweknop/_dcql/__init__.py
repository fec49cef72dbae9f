"""DCQL, the Digital Credentials Query Language (OpenID4VP 1.0 sections 6, 7 and 8).

One engine for both sides, independent of the credential format, split by job:

* ``_query``: :meth:`DCQLQuery.parse` validates a query (section 6) into frozen dataclasses;
* ``_paths``: :func:`select_paths` applies a claims path pointer to a JSON credential
  (section 7.1) and resolves Claims Queries with their ``values`` (section 6.3);
* ``_plan`` and ``_disclosure`` (wallet): :func:`plan` matches the query against the
  wallet's credentials and says exactly which claims each presentation will reveal, or what
  is missing (section 6.4);
* ``_response`` (verifier): :func:`check_response` checks that what came back answers the
  query (sections 6.4, 8.1 and 8.6).

The modules import downward only: ``_query`` <- ``_paths`` <- ``_response`` <-
``_disclosure`` <- ``_plan`` (a plan previews what the verifier will see, so the wallet side
knows the verifier's :class:`PresentedCredential`; never the other way round).

Decisions, where the specification leaves room (each module lists its own as well):

* **Unknown formats** parse (section 6: new formats are defined elsewhere), their ``meta`` is
  kept as is, and they never match: the engine cannot evaluate their ``meta``, so it fails
  closed. Known formats have their ``meta`` checked: ``dc+sd-jwt`` needs ``vct_values``,
  ``ldp_vc`` and ``jwt_vc_json`` need ``type_values``, ``mso_mdoc`` needs ``doctype_value``
  (Appendix B).
* **Privacy rule for protected claims** (default: ``bsn``). A BSN may only be processed on a
  legal basis, so the wallet reveals it only when the request names it by an explicit path,
  e.g. ``["subject", "bsn"]``. A request for an ancestor (``["subject"]``) is expanded to the
  ancestor's other children; the BSN is withheld and the plan warns
  ``protected_claim_withheld``. :func:`check_response` applies the same rule, so a BSN that
  arrives under such a request is an *extra* claim.
* **Types** are what the caller says: for SD-JWT VC the ``vct`` plus any type it extends, for
  W3C the ``type`` values fully expanded, as ``type_values`` names them (Appendix B.1.1; no
  JSON-LD processing here: the wallet and the verifier expand under the pinned contexts with
  ``w3c_type_iris``, so compact names in ``type_values`` do not match our credentials).
* Index pointers (``["cases", 1]``) into arrays whose elements are withheld one by one are
  fragile in any format: withheld elements vanish and later indices shift. Prefer ``null``.

Example:
    >>> q = DCQLQuery.parse({"credentials": [{"id": "pid", "format": "dc+sd-jwt",
    ...     "meta": {"vct_values": ["urn:example:pid"]},
    ...     "claims": [{"path": ["subject", "family_name"]}]}]})
    >>> cand = CandidateCredential(id="c1", format="dc+sd-jwt", types=("urn:example:pid",),
    ...     claims={"subject": {"family_name": "Jansen", "bsn": "999999990"}})
    >>> p = plan(q, [cand])
    >>> p.satisfiable, p.presentations()["pid"][0].disclose_paths
    (True, (('subject', 'family_name'),))
    >>> presented = PresentedCredential(format="dc+sd-jwt", types=("urn:example:pid",),
    ...     claims={"subject": {"family_name": "Jansen"}})
    >>> check_response(q, {"pid": [presented]}).answered
    ('pid',)
"""

from ._disclosure import CandidateCredential, DisclosurePlan
from ._paths import select_paths
from ._plan import plan
from ._query import ClaimsQuery, DCQLQuery
from ._response import PresentedCredential, check_response

__all__ = [
    "CandidateCredential",
    "ClaimsQuery",
    "DCQLQuery",
    "DisclosurePlan",
    "PresentedCredential",
    "check_response",
    "plan",
    "select_paths",
]
