"""Notifications: the outbox, its channels and worker, Twilio's webhooks, and the dev outbox."""

from flask import Blueprint

bp = Blueprint("notifications", __name__, template_folder="templates")

from portal.notifications import hooks, views  # noqa: E402, F401
