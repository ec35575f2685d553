"""What helps a seller understand and fix their numbers beyond pass or fail, as facts, one
module per feature (their sentences, links and cards are ``metrics.presenters.insights``):

- ``headroom``: how many more defect units each metric's window can absorb (from the stored
  snapshot alone, exact integer arithmetic);
- ``at_risk``: orders not decided yet that become defects if they go wrong, with their
  deadlines, and the rates if they all do;
- ``root_causes``: where the defects of a metric come from (by carrier, weekday and hour of
  purchase against the cutoff, destination state);
- ``settings_risks``: settings that predict defects, with the orders they already cost;
- ``population``: the orders behind a metric's population units (reconciliation).

Every order query is for one seller and filters on its purchase date, the (seller,
purchase_date) index. ``seller_insights`` gathers the first four for one seller and window:
the dashboard's and the JSON status's insights; ``seller_day_insights`` all of them but the
orders at risk, the facts of D alone, which the pages keep for the day (the orders at risk
depend on the moment they are asked: ``metrics.presenters.cache``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, fields

from django.utils import timezone

from metrics.definitions import METRICS
from metrics.insights.at_risk import AtRisk, orders_at_risk
from metrics.insights.headroom import Headroom, snapshot_headroom, weakest_metric
from metrics.insights.root_causes import RootCauseSummary, root_cause_summary
from metrics.insights.settings_risks import SettingsRisk, settings_risks
from metrics.models import MetricSnapshot
from sellers.models import Seller


@dataclass
class DayInsights:
    """The insights that depend on D's orders and snapshots and the seller's settings alone."""

    day: dt.date
    window_days: int
    headroom: dict[str, Headroom]
    root_causes: RootCauseSummary | None  # of the weakest metric; None without orders
    settings_risks: list[SettingsRisk]


@dataclass
class Insights(DayInsights):
    """D's insights and the orders at risk now."""

    at_risk: AtRisk


def seller_day_insights(
    *, seller: Seller, day: dt.date, window_days: int, snapshots: Mapping[str, MetricSnapshot]
) -> DayInsights:
    """Headroom from D's snapshots of the window; the root causes of the weakest metric; the
    settings that predict defects: root causes 2 queries (1 on orders), settings risks 4 (1
    on orders). Nothing here depends on the moment it is asked."""
    headroom = {name: snapshot_headroom(snapshots[name]) for name in METRICS if name in snapshots}
    weakest = weakest_metric(headroom)
    return DayInsights(
        day=day,
        window_days=window_days,
        headroom=headroom,
        root_causes=root_cause_summary(seller=seller, day=day, window_days=window_days, metric=weakest)
        if weakest
        else None,
        settings_risks=settings_risks(seller=seller, day=day, window_days=window_days),
    )


def seller_insights(
    *,
    seller: Seller,
    day: dt.date,
    window_days: int,
    snapshots: Mapping[str, MetricSnapshot],
    now: dt.datetime | None = None,
) -> Insights:
    """``seller_day_insights`` and the orders at risk now (3 queries, 2 on orders). Not
    cached here: the pages that show them are (``metrics.presenters.cache``)."""
    facts = seller_day_insights(seller=seller, day=day, window_days=window_days, snapshots=snapshots)
    at_risk = orders_at_risk(
        seller=seller, day=day, window_days=window_days, snapshots=snapshots, now=now or timezone.now()
    )
    return Insights(**{f.name: getattr(facts, f.name) for f in fields(facts)}, at_risk=at_risk)
