"""The key in a return label's link, so a merchant can pass the label on without a login. The
return pages check it; the API hands it out with each label's URL."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app

from portal.models import Return


def label_key(ret: Return) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"label:{ret.rma}".encode(), hashlib.sha256).hexdigest()[:24]
