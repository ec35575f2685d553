"""Types the checker needs and Django's own do not spell."""

from __future__ import annotations

from django.http import HttpRequest

from sellers.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """The request a `@login_required` view receives: its user is a signed-in `User`.

    `HttpRequest.user` is `User | AnonymousUser`; behind login_required the anonymous case
    never reaches the view, so its annotation says so (django-stubs' documented pattern).
    """

    user: User
