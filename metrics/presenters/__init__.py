"""What the metrics pages, the JSON status and the emails say: presenters beside the views.
Selectors, services and ``metrics.insights`` return facts; the modules here turn them into
sentences, links, cards and cache keys.

- ``rates``: how a rate and a threshold read (the rule that a rate shown never crosses its
  threshold), re-exported here as the package's own API;
- ``reasons``: a revocation reason or a plan's failing item in a sentence;
- ``insights``: headroom, orders at risk, root causes and settings risks in words;
- ``glance``: the dashboard's first screen: the verdict across both windows, the seven-metric
  table and the revocation checklist (SPEC section 8);
- ``dashboard``: the dashboard's cards and its cached content;
- ``cache``: the one cache of a seller's pages.
"""

from metrics.presenters.rates import (
    RATE_DECIMALS,
    Share,
    percent,
    rate_percent,
    shown_rate,
    shown_threshold,
    threshold_percent,
)

__all__ = ["RATE_DECIMALS", "Share", "percent", "rate_percent", "shown_rate", "shown_threshold", "threshold_percent"]
