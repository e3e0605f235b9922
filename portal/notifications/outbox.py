"""Moved to portal/services/messages (a shim until the imports of it are rewritten)."""

from portal.services.messages import enqueue, is_opted_out, notify, status_changed  # noqa: F401
