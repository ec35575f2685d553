from django.urls import path

from metrics import api
from metrics.views import incidents, performance, plans, review

app_name = "metrics"

urlpatterns = [
    path("performance/", performance.dashboard, name="dashboard"),
    path("performance/defects/", performance.defects, name="defects"),
    path("performance/defects.csv", performance.defects_csv, name="defects_csv"),
    path("performance/orders/", performance.population, name="population"),
    path("performance/orders.csv", performance.population_csv, name="population_csv"),
    path("performance/poa/", plans.poa_list, name="poa_list"),
    path("performance/poa/new/", plans.poa_create, name="poa_create"),
    path("performance/poa/draft/", plans.poa_draft, name="poa_draft"),
    path("performance/incidents/", incidents.incident_list, name="incident_list"),
    path("performance/incidents/new/", incidents.incident_create, name="incident_create"),
    path("performance/incidents/<int:pk>/", incidents.incident_detail, name="incident_detail"),
    path("review/", review.queue, name="review_queue"),
    path("review/plans/<int:pk>/", review.plan_detail, name="review_plan"),
    path("review/plans/<int:pk>/decide/", review.plan_decide, name="review_decide"),
    path("review/incidents/<int:pk>/", review.incident_detail, name="review_incident"),
    path("review/incidents/<int:pk>/decide/", review.incident_decide, name="review_incident_decide"),
    path("review/sellers/<int:pk>/", review.seller_detail, name="review_seller"),
    path("api/performance/", api.performance, name="api_performance"),
    path("api/incidents/", api.incidents, name="api_incidents"),
]
