"""Each account's language: remembered when the user switches it, applied after login,
and used for the emails the portal sends them (the portal speaks English, German and
Vietnamese, the languages of the programme's own help pages)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views.i18n import set_language as django_set_language

SUPPORTED = {code for code, _name in settings.LANGUAGES}


def user_language(user) -> str:
    """The language to speak to ``user`` in: their choice, else the portal's default."""
    language = getattr(user, "language", "") or ""
    return language if language in SUPPORTED else settings.LANGUAGE_CODE


def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch (cookie), which also remembers the choice on the account,
    so the next login and the portal's emails use it."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    user = request.user
    if request.method == "POST" and user.is_authenticated and language in SUPPORTED and user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return response


class UserLanguageMiddleware:
    """After LocaleMiddleware and authentication: a logged-in user who has chosen a
    language and has no language cookie in this browser gets their own language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.language in SUPPORTED
            and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES
        ):
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        return self.get_response(request)
