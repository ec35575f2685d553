"""GET (or HEAD) /api/performance/?window=7|30[&date=YYYY-MM-DD] (SPEC section 6) and
GET/POST /api/incidents/ (SPEC section 7), seller-scoped."""

from __future__ import annotations

import datetime as dt
import functools
import json

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.paginator import InvalidPage, Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from metrics.definitions import METRICS, parse_window, seller_at_risk
from metrics.forms import IncidentForm, names_listed
from metrics.incidents import INCIDENT_BODY_MAX
from metrics.insights import seller_day_insights
from metrics.insights.at_risk import orders_at_risk
from metrics.insights.root_causes import Share
from metrics.models import Incident, MetricSnapshot
from metrics.presenters.cache import DAY_CACHE_SECONDS, cached, seller_cache_key, seller_day_cache_key
from metrics.presenters.insights import AtRiskCard, DayInsightsCard, InsightsCard, at_risk_card, day_insights_card
from metrics.selectors import (
    DashboardState,
    answered_by_reinstatement,
    excused_units_by_incident,
    seller_dashboard_state,
    seller_day_snapshots,
    seller_incidents,
    seller_reinstated_on,
)
from metrics.services import IncidentError, IncidentFailed, incident_submit
from portal.bounds import EARLIEST_DATE, date_in_range, excerpt
from portal.routers import replica_serve
from sellers.auth import BearerTokenError, bearer_authenticate
from sellers.models import Seller, User, paused_by
from sellers.requirements import REQUIREMENTS
from sellers.selectors import seller_requirements


def incident_payload(incident: Incident) -> dict:
    """One incident as the JSON of SPEC section 7 writes it (``GET /api/incidents/``'s items,
    the POST's 201 body, the ``incident.decided`` webhook's data): local ISO dates, moments
    in ISO 8601, the metrics it excuses once approved (none before)."""
    approved = incident.status == Incident.Status.APPROVED
    return {
        "id": incident.pk,
        "status": incident.status,
        "kind": incident.kind,
        "carrier": incident.carrier,
        "start": incident.start_date.isoformat(),
        "end": incident.end_date.isoformat(),
        "description": incident.description,
        "order_ids": list(incident.order_ids),
        "excused_metrics": list(incident.excused_metrics) if approved else [],
        "submitted_at": incident.submitted_at.isoformat(),
        "decided_at": incident.decided_at.isoformat() if incident.decided_at else None,
        "note": incident.note,
    }


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def performance_payload(*, seller: Seller, day: dt.date, window_days: int) -> dict | None:
    """The JSON status of SPEC section 6 from D's stored snapshots; None if D was not computed.

    ``at_risk`` per metric of the window asked for, and for the document: the seller is
    eligible and some metric is at risk in either window, whichever was asked (SPEC section 8)."""
    both_windows = seller_day_snapshots(seller=seller, day=day)
    snapshots = {name: s for (window, name), s in both_windows.items() if window == window_days}
    if not snapshots:
        return None
    # Which incidents excused the units (SPEC section 7): asked only when some were excused.
    excused_by = (
        excused_units_by_incident(seller=seller, day=day, window_days=window_days)
        if any(s.excused_units for s in snapshots.values())
        else {}
    )
    metrics = {}
    for name in METRICS:
        s = snapshots.get(name)
        if s is None:
            continue
        entry: dict[str, object] = {
            "rate": s.rate,
            "units": s.population_units,
            "defect_units": s.defect_units,
            "threshold": float(s.threshold),
            "passing": s.passing,
            "at_risk": s.at_risk,
        }
        if s.definition.buy_shipping_protection:
            entry["protected_units"] = s.protected_units
        entry["excused_units"] = s.excused_units
        entry["excused_by"] = [
            {"incident": incident.pk, "units": units} for incident, units in excused_by.get(name, [])
        ]
        if s.judged_apart:  # protected or excused units: the rate judged is another
            entry["eligibility_rate"] = s.eligibility_rate
        metrics[name] = entry
    requirements = seller_requirements(seller=seller)
    now = dt.datetime.now(dt.UTC)
    control = seller.volume_control_at(now)
    return {
        "merchant_token": seller.merchant_token,
        "date": day.isoformat(),
        "window_days": window_days,
        "status": seller.status,
        "prime_badge_active": seller.prime_badge_active_under(control, now),
        "at_risk": seller_at_risk(
            eligible=seller.is_eligible,
            metrics_at_risk=(s.at_risk for s in both_windows.values()),
            before_reinstatement=answered_by_reinstatement(day, seller_reinstated_on(seller=seller)),
        ),
        "metrics": metrics,
        "requirements": {
            name: {"passing": passing, **({"warning": True} if REQUIREMENTS[name].warning_only else {})}
            for name, passing in requirements.passing.items()
        },
        "volume_control": {
            "daily_cap": control.daily_cap if control else None,
            "paused": paused_by(control, now),
            "paused_until": control.paused_until.isoformat() if control and control.paused_until else None,
        },
        "insights": cached_insights_payload(seller=seller, day=day, window_days=window_days, snapshots=snapshots),
    }


def cached_performance_payload(
    *, seller: Seller, state: DashboardState, window_days: int, now: dt.datetime
) -> dict | None:
    """``performance_payload`` of the seller's latest day, computed once per state of the seller
    (``metrics.presenters.cache``, the dashboard's key: the seller row, its state, the volume
    control in force and whether it pauses now) and then served from the cache, so a repeated
    request costs the dashboard's few indexed queries. ``state`` is the seller's
    (``seller_dashboard_state``) and names the day shown, its latest. The daily run's
    background warm-up (``metrics.presenters.warm``) fills it for the sellers it evaluated.
    None when no day has been computed, or none of this window (never cached)."""
    day = state.day
    if day is None:
        return None
    control = seller.volume_control_at(now)
    key = seller_cache_key(
        "performance",
        seller=seller,
        state=state,
        parts=(window_days, control.pk if control else None, paused_by(control, now)),
        now=now,
    )
    return cached(key, lambda: performance_payload(seller=seller, day=day, window_days=window_days))


def cached_insights_payload(
    *, seller: Seller, day: dt.date, window_days: int, snapshots: dict[str, MetricSnapshot]
) -> dict:
    """The ``insights`` of D's window, computed once per state of the seller and of D's
    snapshots (a recomputation of D, even an earlier one, shows at once), then served from
    the seller's cache (``metrics.presenters.cache``), as the dashboard is: D's facts for the
    day, the orders at risk now for a short bucket."""
    now = timezone.now()
    computed_at = max((snapshot.computed_at for snapshot in snapshots.values()), default=None)
    state = seller_dashboard_state(seller=seller)
    parts = (day, window_days, computed_at)
    facts = cached(
        seller_day_cache_key("insights", seller=seller, state=state, parts=parts),
        lambda: day_insights_payload(
            day_insights_card(seller_day_insights(seller=seller, day=day, window_days=window_days, snapshots=snapshots))
        ),
        seconds=DAY_CACHE_SECONDS,
    )
    at_risk = cached(
        seller_cache_key("insights-at-risk", seller=seller, state=state, parts=parts, now=now),
        lambda: at_risk_payload(
            at_risk_card(orders_at_risk(seller=seller, day=day, window_days=window_days, snapshots=snapshots, now=now))
        ),
    )
    return insights_document(facts, at_risk)


def _shares(shares: list[Share]) -> list[dict]:
    return [
        {"key": share.key, "label": share.label, "units": share.units, "percent": round(share.percent, 2)}
        for share in shares
    ]


def insights_payload(insights: InsightsCard) -> dict:
    """The ``insights`` of the JSON status for the requested window (``metrics.insights``):
    headroom per metric (an integer, negative when failing, null without orders), the orders
    at risk now (the first 50) with the projected rates, the root causes of the weakest
    metric, and the settings that predict defects."""
    return insights_document(day_insights_payload(insights), at_risk_payload(insights.at_risk))


def insights_document(facts: dict, at_risk: dict) -> dict:
    """The ``insights`` from D's facts (``day_insights_payload``) and the orders at risk now
    (``at_risk_payload``), in the document's order."""
    return {"headroom": facts["headroom"], "at_risk": at_risk, **{k: v for k, v in facts.items() if k != "headroom"}}


def day_insights_payload(insights: DayInsightsCard) -> dict:
    """The ``insights`` but the orders at risk: headroom, root causes, settings risks."""
    summary = insights.root_causes
    root_causes = None
    if summary is not None:
        causes = summary.causes
        total = causes.total_units
        root_causes = {
            "metric": summary.metric,
            "window_days": summary.window_days,
            "defect_units": total,
            "by_carrier": _shares(causes.by_carrier),
            "by_weekday": _shares(causes.by_weekday),
            "by_hour": [
                {
                    "key": str(hour.hour),
                    "label": hour.label,
                    "units": hour.units,
                    "percent": round(100 * hour.units / total, 2) if total else 0.0,
                    "after_cutoff_units": hour.after_cutoff_units,
                }
                for hour in summary.cutoff.hours
            ],
            "after_cutoff_by_weekday": _shares(summary.cutoff.after_cutoff_by_weekday),
            "by_state": _shares(causes.by_state),
            "largest": summary.largest_sentence,
            "after_cutoff": summary.after_cutoff_sentence,
        }
    return {
        "headroom": {name: (h.units if (h := insights.headroom.get(name)) else None) for name in METRICS},
        "root_causes": root_causes,
        "settings_risks": [
            {"kind": r.kind, "detail": r.detail, "orders": r.orders, "units": r.units, "fix_url": r.fix_url}
            for r in insights.settings_risks
        ],
    }


def at_risk_payload(at_risk: AtRiskCard) -> dict:
    """The ``insights``' orders at risk now (the first 50), with the projected rates."""
    return {
        "today": at_risk.today.isoformat(),
        "orders": [
            {
                "order_id": order.order_id,
                "kind": order.kind,
                "units": order.units,
                "purchased_at": order.purchased_at.isoformat(),
                "promised_ship_date": order.promised_ship_date.isoformat(),
                "promised_delivery_date": order.promised_delivery_date.isoformat(),
                "deadline": order.deadline.isoformat(),
                "deadline_is_pickup": order.deadline_is_pickup,
                "metrics": list(order.metrics),
            }
            for order in at_risk.orders
        ],
        "count": at_risk.count,
        "units": at_risk.units,
        "projected": {
            name: {"rate": None if p.rate is None else float(p.rate), "passing": p.passing}
            for name, p in at_risk.projected.items()
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
    seller = user.seller
    if seller is None:
        return _error(404, "This account does not belong to a seller.")
    return seller


@require_safe
def performance(request: HttpRequest) -> JsonResponse:
    seller = _request_seller(request)
    if isinstance(seller, JsonResponse):
        return seller
    # Read from the replica when it has this seller's writes (portal.routers).
    return replica_serve(functools.partial(_performance, request, seller), seller_id=seller.pk)


def _performance(request: HttpRequest, seller: Seller) -> JsonResponse:
    window_days = parse_window(request.GET.get("window"))
    if window_days is None:
        return _error(400, "window must be 7 or 30, e.g. ?window=30.")
    if "date" in request.GET:
        try:
            day = dt.date.fromisoformat(request.GET["date"])
        except ValueError:
            return _error(400, "date must be written YYYY-MM-DD, e.g. ?date=2026-11-20.")
        today = timezone.localdate()
        if not date_in_range(day, latest=today):
            return _error(
                400, f"date must be from {EARLIEST_DATE} to {today}: choose a day the daily run has computed."
            )
        payload = performance_payload(seller=seller, day=day, window_days=window_days)
    else:
        state = seller_dashboard_state(seller=seller)
        if state.day is None:
            return _error(404, "No metrics have been computed for this seller yet; they appear after the daily run.")
        day = state.day
        payload = cached_performance_payload(seller=seller, state=state, window_days=window_days, now=timezone.now())
    if payload is None:
        return _error(404, f"No metrics were computed for {day.isoformat()}; try a date on which the daily run ran.")
    return JsonResponse(payload)


# ---------------------------------------------------------------------------------------
# Incidents (SPEC section 7)

# The body's keys and the report form's fields they fill (SPEC section 7: start and end
# are the local dates).
INCIDENT_FIELDS = {
    "kind": "kind",
    "carrier": "carrier",
    "start": "start_date",
    "end": "end_date",
    "description": "description",
    "order_ids": "order_ids",
}
# A form error that belongs to no field (too many incidents waiting) is the body's.
BODY = "body"


def _request_actor(request: HttpRequest) -> tuple[Seller, User, bool] | JsonResponse:
    """The seller, the user acting for it and whether a bearer token says so (else the
    session); or the JSON error to answer with."""
    try:
        bearer = bearer_authenticate(request)
    except BearerTokenError as exc:
        return _unauthorized(str(exc))
    if bearer is not None:
        return bearer.seller, bearer.user, True
    seller = _request_seller(request)
    if isinstance(seller, JsonResponse):
        return seller
    return seller, _session_user(request), False


def _session_user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise TypeError("An authenticated request's user is a User.")
    return user


def _csrf_refusal(request: HttpRequest) -> JsonResponse | None:
    """A write in a browser session follows Django's CSRF protection (a bearer token is no
    ambient credential, so its writes need none): the JSON 403 when the check fails."""
    refused = CsrfViewMiddleware(lambda _request: HttpResponse()).process_view(request, _session_write, (), {})
    if refused is None:
        return None
    return _error(
        403,
        gettext(
            "The CSRF check failed: send your session's CSRF token in the X-CSRFToken header, or authenticate "
            "with Authorization: Bearer <token>."
        ),
    )


def _session_write(request: HttpRequest) -> HttpResponse:
    """What the CSRF check is asked about: a view that is not exempt (never called)."""
    return HttpResponse(status=204)


def _field_errors(errors: dict[str, list[str]]) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=400)


def _content_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


# The most incidents one answer of GET /api/incidents/ lists; ``page`` turns to the older ones.
INCIDENTS_API_PAGE_SIZE = 50


def _incidents_page(request: HttpRequest, seller: Seller) -> JsonResponse:
    """One page of the seller's incidents, newest first, with the total and the addresses of
    the pages before and after it (null at either end); 400 for a ``page`` that is not one.
    Pages are counted from the newest: an incident reported between two requests moves each
    older one a place on, so a client walking the pages may meet one twice (never miss one)."""
    paginator = Paginator(seller_incidents(seller=seller), INCIDENTS_API_PAGE_SIZE)
    raw = request.GET.get("page") or "1"  # absent or empty: the first page
    try:
        page = paginator.page(raw)
    except InvalidPage:
        return _error(
            400,
            gettext("page=%(page)s is not a page of your incidents: use a whole number from 1 to %(pages)s.")
            % {"page": excerpt(raw), "pages": paginator.num_pages},
        )

    def address(number: int) -> str:
        return request.build_absolute_uri(f"{request.path}?page={number}")

    return JsonResponse(
        {
            "incidents": [incident_payload(incident) for incident in page],
            "count": paginator.count,
            "page": page.number,
            "pages": paginator.num_pages,
            "next": address(page.next_page_number()) if page.has_next() else None,
            "previous": address(page.previous_page_number()) if page.has_previous() else None,
        }
    )


@csrf_exempt
def incidents(request: HttpRequest) -> JsonResponse:
    """GET /api/incidents/[?page=N]: the seller's incidents, newest first, a page of
    ``INCIDENTS_API_PAGE_SIZE`` at a time (``_incidents_page``). POST: report one (SPEC
    section 7) with a JSON object of ``INCIDENT_FIELDS``, validated by the report page's
    own form (``IncidentForm``): 201 with the incident, 400 naming each invalid field, 401
    without a session or a valid token, 403 for a session write without its CSRF token, 413
    over ``INCIDENT_BODY_MAX``, 415 for a body that is not application/json, 503 when the
    database failed (nothing was reported)."""
    if request.method not in ("GET", "HEAD", "POST"):
        response = _error(405, gettext("Use GET to list your incidents or POST to report one."))
        response["Allow"] = "GET, HEAD, POST"
        return response
    actor = _request_actor(request)
    if isinstance(actor, JsonResponse):
        return actor
    seller, user, by_token = actor
    if request.method != "POST":
        return _incidents_page(request, seller)
    if not by_token and (refused := _csrf_refusal(request)) is not None:
        return refused
    if request.content_type != "application/json":
        return _error(415, gettext("Send the report as JSON, with the header Content-Type: application/json."))
    too_large = _error(
        413,
        gettext("The body is larger than %(size)s KB; a report fits well within it.")
        % {"size": INCIDENT_BODY_MAX // 1024},
    )
    if _content_length(request) > INCIDENT_BODY_MAX:
        return too_large
    body = request.body
    if len(body) > INCIDENT_BODY_MAX:
        return too_large
    example = (
        '{"kind": "carrier", "carrier": "UPS Ground", "start": "2026-11-14", "end": "2026-11-16", "description": "…"}'
    )
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return _field_errors(
            {BODY: [gettext("The body is not valid JSON; send an object like %(example)s.") % {"example": example}]}
        )
    if not isinstance(document, dict):
        return _field_errors(
            {BODY: [gettext("The body must be a JSON object like %(example)s.") % {"example": example}]}
        )
    unknown = [key for key in document if key not in INCIDENT_FIELDS]
    if unknown:
        return _field_errors(
            {
                BODY: [
                    gettext("Unknown fields: %(unknown)s. A report has the fields %(fields)s.")
                    % {"unknown": names_listed(unknown), "fields": ", ".join(INCIDENT_FIELDS)}
                ]
            }
        )
    form = IncidentForm(
        {field: document[key] for key, field in INCIDENT_FIELDS.items() if key in document},
        seller=seller,
        today=seller.local_date(timezone.now()),
    )
    if not form.is_valid():
        names = {field: key for key, field in INCIDENT_FIELDS.items()} | {NON_FIELD_ERRORS: BODY}
        return _field_errors({names[field]: [str(text) for text in texts] for field, texts in form.errors.items()})
    try:
        incident = incident_submit(
            seller=seller, user=user, **{field: form.cleaned_data[field] for field in INCIDENT_FIELDS.values()}
        )
    except IncidentFailed as exc:
        response = _error(503, str(exc))
        response["Retry-After"] = "60"
        return response
    except IncidentError as exc:
        return _field_errors({BODY: [str(exc)]})
    return JsonResponse(incident_payload(incident), status=201)
