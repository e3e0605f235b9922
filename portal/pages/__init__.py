"""Pages that explain rather than serve a parcel: `/about/co2`, how the CO2e figures are made."""

from flask import Blueprint

bp = Blueprint("pages", __name__, template_folder="templates")

from portal.pages import views  # noqa: E402, F401
