"""Emails to sellers about their programme status, through Django's email framework."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.core.mail import get_connection, send_mass_mail
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.utils import translation

from metrics.models import SellerEvent
from metrics.reasons import reason_sentence
from sellers.language import user_language
from sellers.models import User


def revocation_emails_send(*, event_ids: Sequence[int]) -> int:
    """Tell every active user of each seller why Prime eligibility was revoked, in one
    pass over the events (a daily run may revoke many). Returns the number of mails sent."""
    users = Prefetch("seller__users", queryset=User.objects.filter(is_active=True).exclude(email=""))
    events = SellerEvent.objects.filter(pk__in=list(event_ids)).select_related("seller").prefetch_related(users)
    messages = []
    for event in events:
        for user in event.seller.users.all():
            # Each user in their own language: reasons and dates are rendered inside it.
            with translation.override(user_language(user)):
                context = {
                    "seller": event.seller,
                    "event": event,
                    "reasons": [reason_sentence(r) for r in event.reasons],
                }
                subject = render_to_string("metrics/email/revoked_subject.txt", context).strip()
                body = render_to_string("metrics/email/revoked_body.txt", context)
            messages.append((subject, body, settings.DEFAULT_FROM_EMAIL, [user.email]))
    if not messages:
        return 0
    return send_mass_mail(messages, fail_silently=False, connection=get_connection())
