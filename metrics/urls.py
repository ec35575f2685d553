from django.urls import path

from metrics import api, views

app_name = "metrics"

urlpatterns = [
    path("performance/", views.dashboard, name="dashboard"),
    path("performance/defects/", views.defects, name="defects"),
    path("performance/defects.csv", views.defects_csv, name="defects_csv"),
    path("api/performance/", api.performance, name="api_performance"),
]
