"""Emails about a seller's webhooks, in each user's language (as metrics.notifications)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import get_connection, send_mass_mail
from django.template.loader import render_to_string
from django.utils import translation

from sellers.choices import EmailKind
from sellers.language import user_language
from sellers.selectors import seller_email_recipients
from webhooks.models import WebhookEndpoint


def endpoint_disabled_emails_send(*, endpoint_id: int) -> int:
    """Tell the seller's users who keep these emails on (``EmailKind.WEBHOOK_DISABLED``)
    that an endpoint was disabled after 3 days of failed deliveries (SPEC section 8), and
    how to turn it back on."""
    endpoint = WebhookEndpoint.objects.select_related("seller").filter(pk=endpoint_id, enabled=False).first()
    if endpoint is None:
        return 0
    users = seller_email_recipients(seller=endpoint.seller, kind=EmailKind.WEBHOOK_DISABLED)
    context = {"endpoint": endpoint, "seller": endpoint.seller}
    messages = []
    for user in users:
        with translation.override(user_language(user)):
            subject = render_to_string("webhooks/email/endpoint_disabled_subject.txt", context).strip()
            body = render_to_string("webhooks/email/endpoint_disabled_body.txt", context)
        messages.append((subject, body, settings.DEFAULT_FROM_EMAIL, [user.email]))
    return send_mass_mail(messages, fail_silently=False, connection=get_connection()) if messages else 0
