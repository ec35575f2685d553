"""GET /api/performance/?window=7|30[&date=YYYY-MM-DD] (SPEC section 6), seller-scoped."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from metrics.definitions import METRICS, WINDOWS
from metrics.selectors import WARNING_REQUIREMENTS, seller_latest_day, seller_requirements, seller_snapshots
from sellers.auth import BearerTokenError, bearer_authenticate
from sellers.models import Seller


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def performance_payload(*, seller: Seller, day: dt.date, window_days: int) -> dict | None:
    """The JSON status of SPEC section 6 from D's stored snapshots; None if D was not computed."""
    snapshots = {s.metric: s for s in seller_snapshots(seller=seller, day=day, window_days=window_days)}
    if not snapshots:
        return None
    metrics = {}
    for name in METRICS:
        s = snapshots.get(name)
        if s is None:
            continue
        entry = {
            "rate": s.rate,
            "units": s.population_units,
            "defect_units": s.defect_units,
            "threshold": float(s.threshold),
            "passing": s.passing,
        }
        if name == "on_time_delivery_rate":
            entry["protected_units"] = s.protected_units
            entry["eligibility_rate"] = s.eligibility_rate
        metrics[name] = entry
    requirements = seller_requirements(seller=seller)
    control = seller.volume_control_at(dt.datetime.now(dt.UTC))
    return {
        "merchant_token": seller.merchant_token,
        "date": day.isoformat(),
        "window_days": window_days,
        "status": seller.status,
        "prime_badge_active": seller.prime_badge_active(),
        "metrics": metrics,
        "requirements": {
            name: {"passing": passing, **({"warning": True} if name in WARNING_REQUIREMENTS else {})}
            for name, passing in requirements.passing.items()
        },
        "volume_control": {
            "daily_cap": control.daily_cap if control else None,
            "paused": bool(control and control.is_paused_at(dt.datetime.now(dt.UTC))),
            "paused_until": control.paused_until.isoformat() if control and control.paused_until else None,
        },
    }


def _unauthorized(message: str) -> JsonResponse:
    response = _error(401, message)
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _request_seller(request: HttpRequest) -> Seller | JsonResponse:
    """The seller a request acts for: its bearer token's when it sends one, else the
    logged-in session's; or the JSON error to answer with."""
    try:
        bearer = bearer_authenticate(request)
    except BearerTokenError as exc:
        return _unauthorized(str(exc))
    if bearer is not None:
        return bearer.seller
    user = request.user
    if not user.is_authenticated:
        return _unauthorized("Log in, or send Authorization: Bearer <token> with a token from your settings.")
    if user.seller_id is None:
        return _error(404, "This account does not belong to a seller.")
    return user.seller


@require_GET
def performance(request: HttpRequest) -> JsonResponse:
    seller = _request_seller(request)
    if isinstance(seller, JsonResponse):
        return seller
    try:
        window_days = int(request.GET.get("window", "30"))
    except ValueError:
        window_days = 0
    if window_days not in WINDOWS:
        return _error(400, "window must be 7 or 30, e.g. ?window=30.")
    if "date" in request.GET:
        try:
            day = dt.date.fromisoformat(request.GET["date"])
        except ValueError:
            return _error(400, "date must be written YYYY-MM-DD, e.g. ?date=2026-11-20.")
    else:
        day = seller_latest_day(seller=seller)
        if day is None:
            return _error(404, "No metrics have been computed for this seller yet; they appear after the daily run.")
    payload = performance_payload(seller=seller, day=day, window_days=window_days)
    if payload is None:
        return _error(404, f"No metrics were computed for {day.isoformat()}; try a date on which the daily run ran.")
    return JsonResponse(payload)
