"""Returns: `/t/<tn>/return`, `/r/<rma>` with its label, and `/dropoff` for service-point staff."""

from __future__ import annotations

from flask import Blueprint

from portal.i18n import lazy_gettext as _l
from portal.returns.forms import EVENT_LABELS, STATUS_LABELS

bp = Blueprint("returns", __name__, template_folder="templates")


@bp.app_template_global()
def return_status_label(status) -> str:
    return str(STATUS_LABELS.get(status, status))


@bp.app_template_global()
def return_event_label(code) -> str:
    return str(EVENT_LABELS.get(code, _l("On its way to the shop")))


@bp.app_template_global()
def return_status_explanation(ret) -> str:
    """One sentence on what happens next, by status and method."""
    status, method = str(ret.status), str(ret.method)
    if status == "requested":
        return str(_l("The shop looks at your request and we message you when it's decided."))
    if status == "approved":
        if method == "home_pickup":
            return str(_l("Have the parcel ready at the time you chose."))
        return str(_l("Pack the items and hand them in with the code below."))
    if status == "rejected":
        return str(_l("The shop did not accept this return."))
    if status in ("dropped_off", "in_transit"):
        return str(_l("We message you when the shop has it."))
    if status == "received":
        return str(_l("The shop has your return; the refund comes next."))
    if status == "refunded":
        return str(_l("The money is on its way back to you."))
    return ""


from portal.returns import views  # noqa: E402, F401
