from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("settings/webhooks/", views.endpoints, name="endpoints"),
    path("settings/webhooks/<int:pk>/", views.endpoint_log, name="endpoint_log"),
    path("settings/webhooks/<int:pk>/disable/", views.endpoint_disable, name="endpoint_disable"),
    path("settings/webhooks/<int:pk>/enable/", views.endpoint_enable, name="endpoint_enable"),
    path("settings/webhooks/<int:pk>/delete/", views.endpoint_delete, name="endpoint_delete"),
    path("settings/webhooks/<int:pk>/test/", views.endpoint_test, name="endpoint_test"),
]
