"""Emails to sellers about their programme status, through Django's email framework."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mass_mail
from django.template.loader import render_to_string
from django.utils import translation

from metrics.definitions import METRIC_DEFINITIONS
from metrics.models import SellerEvent
from metrics.reasons import reason_sentence


def revocation_email_send(*, event_id: int) -> int:
    """Tell every user of the seller why Prime eligibility was revoked. Returns mails sent."""
    event = SellerEvent.objects.select_related("seller").get(pk=event_id)
    recipients = [u.email for u in event.seller.users.filter(is_active=True).exclude(email="")]
    if not recipients:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "seller": event.seller,
            "event": event,
            "reasons": [reason_sentence(r) for r in event.reasons],
            "metrics": METRIC_DEFINITIONS,
        }
        subject = render_to_string("metrics/email/revoked_subject.txt", context).strip()
        body = render_to_string("metrics/email/revoked_body.txt", context)
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [address]) for address in recipients]
    return send_mass_mail(messages, fail_silently=False)
