from django.urls import path

from feed import views

app_name = "feed"

urlpatterns = [
    path("api/v1/orders", views.orders, name="orders"),
    path("api/v1/tracking-events", views.tracking_events, name="tracking_events"),
    path("api/v1/openapi.json", views.openapi, name="openapi"),
]
