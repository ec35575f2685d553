"""Emails to sellers about their programme status, through Django's email framework.

Each email is of a kind (``sellers.choices.EmailKind``, the one list of them) and goes to the
users ``sellers.selectors.email_recipients(kind)`` returns: active, with an address, and not
having turned that kind off (revocation and reinstatement cannot be). Each is written in its
recipient's language (``_render``)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from django.conf import settings
from django.core.mail import get_connection, send_mass_mail
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.functional import lazy

from metrics.definitions import METRIC_DEFINITIONS, SNAPSHOT_KEYS
from metrics.insights.headroom import snapshot_headroom
from metrics.models import Incident, MetricSnapshot, PlanOfAction
from metrics.presenters.glance import at_risk_line, tightest_headroom, tightest_sentence
from metrics.presenters.reasons import reason_sentence
from metrics.reasons import revocation_reasons_from_json
from metrics.selectors import incident_reinstated, incident_withdrawn_plans, plan_reviewers
from portal.sql import ids_among
from sellers.choices import EmailKind
from sellers.language import user_language
from sellers.models import Seller, SellerEvent, User
from sellers.selectors import email_recipients, seller_email_recipients

lazy_reason_sentence = lazy(reason_sentence, str)
lazy_tightest_sentence = lazy(tightest_sentence, str)
lazy_at_risk_line = lazy(at_risk_line, str)


def revocation_emails_send(*, event_ids: Sequence[int]) -> int:
    """Tell every active user of each seller why Prime eligibility was revoked, in one
    pass over the events (a daily run may revoke many). Returns the number of mails sent."""
    users = Prefetch("seller__users", queryset=email_recipients(EmailKind.REVOCATION))
    events = SellerEvent.objects.filter(pk__in=ids_among(event_ids)).select_related("seller").prefetch_related(users)
    messages = []
    for event in events:
        # Lazy: each sentence is written when rendered, in the recipient's language.
        reasons = [lazy_reason_sentence(reason) for reason in revocation_reasons_from_json(event.reasons)]
        context = {"seller": event.seller, "event": event, "reasons": reasons}
        for user in event.seller.users.all():
            subject, body = _render("revoked", user, context)
            messages.append((subject, body, settings.DEFAULT_FROM_EMAIL, [user.email]))
    if not messages:
        return 0
    return send_mass_mail(messages, fail_silently=False, connection=get_connection())


def _render(template: str, user: User, context: dict) -> tuple[str, str]:
    with translation.override(user_language(user)):
        subject = render_to_string(f"metrics/email/{template}_subject.txt", context).strip()
        body = render_to_string(f"metrics/email/{template}_body.txt", context)
    return subject, body


def _reviewers_told(template: str, context: dict) -> int:
    """Tell every reviewer, each in their language, that something waits in their queue."""
    messages = []
    for reviewer in plan_reviewers():
        subject, body = _render(template, reviewer, context)
        messages.append((subject, body, settings.DEFAULT_FROM_EMAIL, [reviewer.email]))
    return send_mass_mail(messages, fail_silently=False, connection=get_connection()) if messages else 0


def plan_submitted_emails_send(*, plan_id: int) -> int:
    """Tell the reviewers a plan of action waits in their queue."""
    plan = PlanOfAction.objects.select_related("seller").filter(pk=plan_id).first()
    if plan is None:
        return 0
    return _reviewers_told("plan_submitted", {"plan": plan, "seller": plan.seller})


def incident_submitted_emails_send(*, incident_id: int) -> int:
    """Tell the reviewers an incident waits in their queue (SPEC section 7), as a new plan of
    action is told."""
    incident = Incident.objects.select_related("seller").filter(pk=incident_id).first()
    if incident is None:
        return 0
    return _reviewers_told("incident_submitted", {"incident": incident, "seller": incident.seller})


def plan_decided_emails_send(*, plan_id: int) -> int:
    """Tell the seller's users the decision on their plan, with the reviewer's feedback.
    An approval reinstates the seller (SPEC section 4): that email is the reinstatement
    email, always sent; a rejection goes to the users who keep plan decisions on."""
    plan = PlanOfAction.objects.select_related("seller").filter(pk=plan_id).first()
    # A plan closed by an incident's reinstatement was not decided: that email says so.
    if plan is None or plan.is_open or plan.status == PlanOfAction.Status.WITHDRAWN:
        return 0
    approved = plan.status == PlanOfAction.Status.APPROVED
    kind = EmailKind.REINSTATEMENT if approved else EmailKind.PLAN_DECIDED
    users = seller_email_recipients(seller=plan.seller, kind=kind)
    messages = []
    for user in users:
        context = {"plan": plan, "seller": plan.seller, "reinstated_on": plan.seller.local_date(plan.decided_at)}
        subject, body = _render("plan_decided", user, context)
        messages.append((subject, body, settings.DEFAULT_FROM_EMAIL, [user.email]))
    return send_mass_mail(messages, fail_silently=False, connection=get_connection()) if messages else 0


def at_risk_emails_send(*, seller_ids: Sequence[int], day: dt.date) -> int:
    """Tell the users of each seller who keep at-risk emails on that it entered at-risk with D (SPEC section 8),
    once per entry (``metrics.services.sellers_entered_at_risk`` decides who): the tightest
    headroom in words and each metric at risk, in the user's language. One query for the
    sellers that have someone to tell (and one for those users), one for their snapshots: a
    seller nobody would read about costs nothing more (a first daily run finds thousands at
    risk)."""
    recipients = email_recipients(EmailKind.AT_RISK)
    sellers = list(
        Seller.objects.filter(pk__in=ids_among(seller_ids), users__in=recipients)
        .distinct()
        .prefetch_related(Prefetch("users", queryset=recipients))
        .order_by("pk")
    )
    by_seller: dict[int, list[MetricSnapshot]] = defaultdict(list)
    if sellers:
        for snapshot in MetricSnapshot.objects.filter(seller_id__in=ids_among(s.pk for s in sellers), day=day):
            by_seller[snapshot.seller_id].append(snapshot)
    order = {key: index for index, key in enumerate(SNAPSHOT_KEYS)}
    messages = []
    for seller in sellers:
        snapshots = sorted(by_seller.get(seller.pk, []), key=lambda s: order[(s.window_days, s.metric)])
        at_risk = [snapshot for snapshot in snapshots if snapshot.at_risk]
        # The closest to its threshold of all D's metrics, as the dashboard's banner says it.
        tightest = tightest_headroom(snapshot_headroom(snapshot) for snapshot in snapshots)
        if not at_risk or tightest is None:  # not at risk on D's figures (any more): nothing to say
            continue
        context = {
            "seller": seller,
            "day": day,
            "tightest": lazy_tightest_sentence(tightest),
            "lines": [lazy_at_risk_line(snapshot) for snapshot in at_risk],
        }
        for user in seller.users.all():
            subject, body = _render("at_risk", user, context)
            messages.append((subject, body, settings.DEFAULT_FROM_EMAIL, [user.email]))
    if not messages:
        return 0
    return send_mass_mail(messages, fail_silently=False, connection=get_connection())


def incident_decided_emails_send(*, incident_id: int) -> int:
    """Tell the seller's users the decision on their incident (SPEC section 7), each in their
    language: approved for which metrics, excused from which day on (as of D an incident
    counts once approved by the end of D: from the local date of the approval on), or
    rejected; with the reviewer's note. An approval that reinstated the seller makes this the
    reinstatement email, always sent (and it says a plan under review was closed); otherwise
    it goes to the users who keep incident decisions on."""
    incident = Incident.objects.select_related("seller").filter(pk=incident_id).first()
    if incident is None or incident.is_open or incident.decided_at is None:
        return 0
    seller = incident.seller
    reinstated = incident_reinstated(incident=incident)
    kind = EmailKind.REINSTATEMENT if reinstated else EmailKind.INCIDENT_DECIDED
    context = {
        "seller": seller,
        "incident": incident,
        "approved": incident.status == Incident.Status.APPROVED,
        # Lazy labels: each is written in the recipient's language when rendered.
        "metrics": [METRIC_DEFINITIONS[name].label for name in incident.excused_metrics],
        "from_day": seller.local_date(incident.decided_at),
        "reinstated": reinstated,
        "plan_closed": reinstated and incident_withdrawn_plans(incident=incident).exists(),
    }
    messages = []
    for user in seller_email_recipients(seller=seller, kind=kind):
        subject, body = _render("incident_decided", user, context)
        messages.append((subject, body, settings.DEFAULT_FROM_EMAIL, [user.email]))
    return send_mass_mail(messages, fail_silently=False, connection=get_connection()) if messages else 0
