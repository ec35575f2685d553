"""Why an order is a defect, in words a seller can check against their own records.

Built on the Python halves of the rules in metrics.definitions, so an explanation never
disagrees with the report flags or the dashboard counts.
"""

from __future__ import annotations

import datetime as dt

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from metrics.definitions import (
    METRIC_DEFINITIONS,
    PROMISE_SPEED_DAYS,
    is_cancelled_by_seller,
    is_delivered_late,
    is_no_valid_tracking,
    is_outside_buy_shipping,
    is_promise_slower_than,
    is_protected_late,
    is_shipped,
    is_shipped_late,
)
from sellers.models import Order


def _d(value: dt.date | None) -> str:
    """A date as the pages show every date: the language's DATE_FORMAT."""
    return date_format(value, "DATE_FORMAT") if value else "—"


def order_explanation(order: Order, day: dt.date, *, metric: str | None = None) -> list[str]:
    """One sentence per defect the order has as of D; empty when it has none.

    With ``metric``, also what that metric counts beyond the report's flags: a delivery
    promise slower than the speed metric asks for, or the Buy Shipping protection that
    excuses a late delivery for eligibility (SPEC section 3). Dates in the language's
    DATE_FORMAT, as everywhere on the pages.
    """
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
    protection = metric in METRIC_DEFINITIONS and METRIC_DEFINITIONS[metric].buy_shipping_protection
    if protection and is_protected_late(order, day):
        reasons.append(
            _("Shipped on a Buy Shipping label: this late delivery does not count against your eligibility.")
        )
    if metric in PROMISE_SPEED_DAYS and is_promise_slower_than(order, PROMISE_SPEED_DAYS[metric], day):
        promise_days = (order.promised_delivery_date - order.purchase_date).days
        reasons.append(
            ngettext(
                "Purchased %(purchased)s with delivery promised for %(promised)s, %(days)s day later.",
                "Purchased %(purchased)s with delivery promised for %(promised)s, %(days)s days later.",
                promise_days,
            )
            % {
                "purchased": _d(order.purchase_date),
                "promised": _d(order.promised_delivery_date),
                "days": promise_days,
            }
        )
    return reasons
