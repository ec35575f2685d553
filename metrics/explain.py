"""Why an order is a defect, in words a seller can check against their own records.

Built on the Python halves of the rules in metrics.definitions, so an explanation never
disagrees with the report flags or the dashboard counts.
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from metrics.definitions import (
    is_cancelled_by_seller,
    is_delivered_late,
    is_no_valid_tracking,
    is_outside_buy_shipping,
    is_shipped,
    is_shipped_late,
)
from sellers.models import Order


def _d(value: dt.date | None) -> str:
    return value.isoformat() if value else "—"


def order_explanation(order: Order, day: dt.date) -> list[str]:
    """One sentence per defect the order has as of D; empty when it has none."""
    reasons = []
    if is_shipped_late(order, day):
        reasons.append(
            _("First scanned %(scan)s, promised ship date %(promised)s.")
            % {"scan": _d(order.first_scan_date), "promised": _d(order.promised_ship_date)}
        )
    if is_delivered_late(order, day):
        if order.delivered_date and order.delivered_date <= day:
            reasons.append(
                _("Delivered %(delivered)s, promised %(promised)s.")
                % {"delivered": _d(order.delivered_date), "promised": _d(order.promised_delivery_date)}
            )
        else:
            reasons.append(
                _("Not delivered by %(day)s, promised %(promised)s.")
                % {"day": _d(day), "promised": _d(order.promised_delivery_date)}
            )
    if is_outside_buy_shipping(order, day):
        reasons.append(_("Shipped on a label not bought through Buy Shipping."))
    if is_cancelled_by_seller(order, day):
        if order.cancel_requested_at:
            reasons.append(
                _("Cancelled by you on %(cancelled)s; the customer's request came later, on %(requested)s.")
                % {"cancelled": _d(order.cancelled_date), "requested": _d(order.cancel_requested_date)}
            )
        else:
            reasons.append(
                _("Cancelled by you on %(cancelled)s without a cancellation request from the customer.")
                % {"cancelled": _d(order.cancelled_date)}
            )
    if is_no_valid_tracking(order, day):
        if not order.tracking_id:
            reasons.append(
                _("Shipment confirmed on %(confirmed)s without a tracking id.")
                % {"confirmed": _d(order.ship_confirmed_date)}
            )
        elif not is_shipped(order, day):
            reasons.append(
                _(
                    "Shipment confirmed on %(confirmed)s, but the carrier had not scanned "
                    "tracking id %(tracking)s by %(day)s."
                )
                % {"confirmed": _d(order.ship_confirmed_date), "tracking": order.tracking_id, "day": _d(day)}
            )
    return reasons
