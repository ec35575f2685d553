"""Forms whose submission creates something shown once (an API token, a webhook secret): a
reload of the page that answered the POST sends the form again, and must not create a second
one. Each such form carries a one-time key; the session remembers the keys already used.

The secret itself is never put in the session or a redirect: only the key is kept.
"""

from __future__ import annotations

import secrets

from django import forms
from django.http import HttpRequest

SESSION_KEY = "portal_used_form_keys"
# The keys remembered per session: a reload comes right after the POST it repeats.
REMEMBERED = 20


class OnceField(forms.CharField):
    """A hidden one-time key, new for each form shown."""

    def __init__(self, **kwargs):
        super().__init__(
            widget=forms.HiddenInput,
            max_length=64,
            required=False,
            initial=lambda: secrets.token_urlsafe(16),
            **kwargs,
        )


def submitted_before(request: HttpRequest, key: str) -> bool:
    """Whether this form's key was used already in this session (a reload of the page that
    answered the POST). Not a lock: two clicks sent at the same instant both pass. A missing
    key is never "before": the form is handled."""
    return bool(key) and key in request.session.get(SESSION_KEY, [])


def submission_done(request: HttpRequest, key: str) -> None:
    """Remember the key once the thing is created (not before: a refused form, sent again
    corrected, keeps its key and must still be handled)."""
    if key:
        used = list(request.session.get(SESSION_KEY, []))
        request.session[SESSION_KEY] = [*used, key][-REMEMBERED:]
