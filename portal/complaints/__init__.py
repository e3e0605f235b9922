"""Complaints: `/t/<tn>/complaint` to file one, `/c/<case>` for the case and its thread."""

from flask import Blueprint

bp = Blueprint("complaints", __name__, template_folder="templates")

from portal.complaints import views  # noqa: E402, F401
