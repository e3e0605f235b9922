"""Notifications: sending what services/messages wrote (channels, the hand-off to the queue,
the worker), Twilio's webhooks, unsubscribe links and the dev outbox.

At start-up (this blueprint registered by create_app) it lends services/messages what that
package must not import: the hand-off after commit (ours) and the delivery side's lookups
(delivery and the pickup network queue messages themselves, so they sit above it).
"""

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

from portal.notifications.handoff import hand_off
from portal.services import messages
from portal.services.delivery import current_choice, describe
from portal.services.edd import predict_parcel
from portal.services.network.pickup import pickup_deadline

bp = Blueprint("notifications", __name__, template_folder="templates")


@bp.record_once
def _lend_to_messages(state: BlueprintSetupState) -> None:
    messages.set_handoff(hand_off)
    messages.set_delivery_lookups(
        messages.DeliveryLookups(
            current_choice=current_choice, describe=describe, pickup_deadline=pickup_deadline
        )
    )
    # The expected day in parcel_created (services/edd reads the network, which sends messages).
    messages.set_predictor(predict_parcel)


from portal.notifications import hooks, views  # noqa: E402, F401
