from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from portal.views import home
from sellers import language


@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for a load balancer: the process serves requests. Touches no database, so it
    is also the framework's floor the benchmark holds the dashboard against (bench/run.py)."""
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page links: send them to the static icon
    (its hashed name in production, resolved per request so a missing manifest entry
    cannot break the URLconf)."""
    return HttpResponsePermanentRedirect(static("img/favicon.ico"))


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("", home, name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("i18n/setlang/", language.set_language, name="set_language"),
    path("", include("metrics.urls")),
    path("", include("sellers.urls")),
    path("", include("webhooks.urls")),
    path("", include("feed.urls")),
]
