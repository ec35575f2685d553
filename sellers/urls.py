from django.urls import path

from sellers import views

app_name = "sellers"

urlpatterns = [
    path("settings/", views.settings_overview, name="settings"),
    path("settings/shipping-template/", views.shipping_template, name="shipping_template"),
    path("settings/fulfilment/", views.fulfilment, name="fulfilment"),
    path("settings/carriers/", views.carriers, name="carriers"),
    path("settings/carriers/new/", views.carrier_create, name="carrier_create"),
    path("settings/carriers/<int:pk>/", views.carrier_edit, name="carrier_edit"),
    path("settings/carriers/<int:pk>/delete/", views.carrier_delete, name="carrier_delete"),
    path("settings/volume-control/", views.volume_control, name="volume_control"),
    path("settings/api-tokens/", views.api_tokens, name="api_tokens"),
    path("settings/api-tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("settings/history/", views.history, name="history"),
]
