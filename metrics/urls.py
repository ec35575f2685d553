from django.urls import path

from metrics import views

app_name = "metrics"

urlpatterns = [
    path("performance/", views.dashboard, name="dashboard"),
]
