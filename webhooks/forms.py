from __future__ import annotations

from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal.bounds import text_error_messages
from portal.once import OnceField
from webhooks.addresses import AddressRefused, url_check
from webhooks.choices import EventType
from webhooks.models import URL_MAX_LENGTH

URL_EXAMPLE = "https://example.com/webhooks"


class WebhookEndpointForm(forms.Form):
    once = OnceField()
    url = forms.CharField(
        label=_("Endpoint URL"),
        max_length=URL_MAX_LENGTH,
        help_text=_("An https:// address on the internet that answers a POST with a 2xx status within 5 seconds."),
        error_messages={
            **text_error_messages(_("Endpoint URL")),
            "required": _("Endpoint URL: enter the https:// address the events are sent to."),
        },
        widget=forms.URLInput(attrs={"placeholder": URL_EXAMPLE}),
    )
    event_types = forms.MultipleChoiceField(
        label=_("Events"),
        choices=EventType.choices,
        initial=EventType.values,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Events: tick at least one event to send to this endpoint."),
            "invalid_choice": _("Events: %(value)s is not an event; tick the events from the list."),
        },
    )

    def clean_url(self) -> str:
        """A URL the portal may send to: https (http only with WEBHOOKS_ALLOW_PRIVATE), with a
        host whose every address is public (``webhooks.addresses.url_check``)."""
        url = self.cleaned_data["url"].strip()
        # Only the shape here: scheme, host and port are url_check's (Django's URLValidator
        # would refuse the dotless host of a test receiver that WEBHOOKS_ALLOW_PRIVATE admits).
        parts = urlsplit(url)
        if not parts.scheme or not parts.netloc or any(c.isspace() for c in url):
            raise ValidationError(
                _("Endpoint URL: %(url)s is not a URL; write it as %(example)s."),
                params={"url": url, "example": URL_EXAMPLE},
            ) from None
        try:
            url_check(url)
        except AddressRefused as exc:
            raise ValidationError(_("Endpoint URL: %(problem)s"), params={"problem": str(exc)}) from None
        return url
