from django.contrib import admin
from django.urls import include, path

from sellers import language
from sellers import views as seller_views

urlpatterns = [
    path("", seller_views.home, name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("i18n/setlang/", language.set_language, name="set_language"),
    path("", include("metrics.urls")),
    path("", include("sellers.urls")),
]
