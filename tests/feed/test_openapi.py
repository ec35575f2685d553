"""GET /api/v1/openapi.json: the OpenAPI 3 description of the whole JSON API, built from the
definitions the code answers by. CI validates it (openapi-spec-validator) and runs
Schemathesis against a live server with it (.ci/run)."""

from __future__ import annotations

import json

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from feed.body import MAX_ITEMS
from feed.fields import EVENT_FIELDS_BY_NAME
from feed.openapi import openapi_document
from metrics.definitions import METRICS
from sellers.importing import COLUMNS, REQUIRED_COLUMNS

URL = "/api/v1/openapi.json"


def refs(node) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def routes(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    found = []
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            found += routes(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            found.append("/" + prefix + str(pattern.pattern))
    return found


@pytest.mark.django_db
def test_the_document_is_served_without_authentication_as_json(client):
    response = client.get(URL)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.json() == json.loads(json.dumps(openapi_document()))


def test_the_document_describes_every_json_endpoint_of_the_portal():
    document = openapi_document()
    assert document["openapi"].startswith("3.")
    json_routes = {route for route in routes() if route.startswith("/api/")}
    assert set(document["paths"]) == json_routes


def test_every_reference_resolves():
    document = openapi_document()
    for ref in refs(document):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in document["components"]["schemas"]


def test_the_feed_items_are_the_imports_fields_and_rules():
    schemas = openapi_document()["components"]["schemas"]
    order = schemas["Order"]
    assert list(order["properties"]) == list(COLUMNS)
    assert order["required"] == list(REQUIRED_COLUMNS) and order["additionalProperties"] is False
    assert order["properties"]["units"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 10_000,
        "description": "units",
    }
    assert order["properties"]["order_id"]["maxLength"] == 64
    assert order["properties"]["first_scan_at"]["nullable"] is True
    assert order["properties"]["cancelled_by"]["enum"] == ["seller", "customer", "", None]
    assert list(schemas["CarrierEvent"]["properties"]) == list(EVENT_FIELDS_BY_NAME)
    assert schemas["CarrierEvent"]["properties"]["type"]["enum"] == ["first_scan", "delivered"]


@pytest.mark.parametrize(
    ("path", "method", "codes"),
    [
        ("/api/performance/", "get", {"200", "400", "401", "404"}),
        ("/api/incidents/", "get", {"200", "400", "401"}),
        ("/api/incidents/", "post", {"201", "400", "401", "403", "413", "415", "503"}),
        ("/api/v1/orders", "post", {"200", "400", "401", "403", "405", "413", "415", "422", "429", "503"}),
        ("/api/v1/tracking-events", "post", {"200", "400", "401", "403", "405", "413", "415", "422", "429", "503"}),
        ("/api/v1/openapi.json", "get", {"200"}),
    ],
)
def test_every_status_code_an_operation_answers_is_described(path, method, codes):
    operation = openapi_document()["paths"][path][method]
    assert set(operation["responses"]) == codes


def test_the_feed_bounds_and_the_metrics_come_from_their_definitions():
    document = openapi_document()
    body = document["paths"]["/api/v1/orders"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["maxItems"] == MAX_ITEMS
    metrics = document["components"]["schemas"]["Performance"]["properties"]["metrics"]["properties"]
    assert list(metrics) == list(METRICS)
    metric = document["components"]["schemas"]["Metric"]["properties"]
    assert {"excused_units", "excused_by", "protected_units", "eligibility_rate"} <= set(metric)
