from django.urls import path

from metrics import api, views

app_name = "metrics"

urlpatterns = [
    path("performance/", views.dashboard, name="dashboard"),
    path("api/performance/", api.performance, name="api_performance"),
]
