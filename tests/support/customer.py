"""One recipient's parcels in the states the customer pages show, for the accessibility and
page-weight tests: a parcel on its way (delivery can change) and an order of two delivered
parcels (one with a return approved and labelled, one with a complaint awaiting an answer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from portal.extensions import db
from portal.models import Complaint, Merchant, Parcel, Return
from portal.models import ParcelStatus as S
from portal.services.returns import LineRequest, ReturnRequest, open_return
from tests.support import factories


@dataclass
class Customer:
    merchant: Merchant
    on_its_way: Parcel
    delivered: Parcel
    second: Parcel
    ret: Return
    case: Complaint


def make_customer() -> Customer:
    factories.make_delivery_zone(today=datetime.now(ZoneInfo("Europe/Stockholm")).date())
    merchant = factories.make_merchant("Nordic Outdoor")
    merchant.brand_colour = "#1d5c3a"  # the merchant's colour on its parcels' pages
    merchant.safe_place_max_value = Decimal(5000)
    merchant.return_address = "Returns desk\nLagervägen 4\n136 50 Haninge"
    on_its_way = factories.make_parcel(
        merchant=merchant, order_ref="ORD-1001", statuses=[S.PENDING, S.PICKED_UP, S.IN_TRANSIT]
    )
    delivered, second = factories.make_order(merchant, order_ref="ORD-1000")
    shirt = next(i for i in delivered.items if i.sku == "SHIRT-M")
    ret = open_return(
        delivered, ReturnRequest([LineRequest(shirt.id, quantity=1, reason="too_small")], "dropoff")
    )
    db.session.commit()
    case = factories.make_complaint(second, status="awaiting_customer")
    return Customer(merchant, on_its_way, delivered, second, ret, case)
