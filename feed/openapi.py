"""The OpenAPI 3 description of the portal's JSON API, served at /api/v1/openapi.json.

Built from the same definitions the code answers by, never a second list: the feed's item
fields (``feed.fields``, read from the models), its limits (``feed.body``), the metrics
(``metrics.definitions.METRICS``), the windows, the requirements and the incidents' kinds
and bounds. Every status code each operation can answer is listed; CI validates the document
and runs Schemathesis against a live server with it (.ci/run).
"""

from __future__ import annotations

from django.utils import translation

from feed.body import JSON, MAX_BODY_BYTES, MAX_ITEMS, NDJSON
from feed.fields import EVENT_FIELDS_BY_NAME, ORDER_FIELDS, Field, Kind
from metrics.api import INCIDENTS_API_PAGE_SIZE
from metrics.definitions import METRICS, WINDOWS
from metrics.incidents import INCIDENT_BODY_MAX, INCIDENT_DESCRIPTION_MAX, INCIDENT_MAX_ORDERS
from metrics.models import Incident
from sellers.importing import CARRIER_MAX
from sellers.requirements import REQUIREMENTS
from sellers.tracking import APPLIED, PENDING

OPENAPI_VERSION = "3.0.3"
API_VERSION = "1.0.0"
ITEM_STATUSES = ("created", "updated", "unchanged")
# The examples of the document: an on-time order of the seller A1B2C3D4 (the example token of
# the portal's messages) shipped without its carrier facts, and the carrier's two events.
ORDER_EXAMPLE = {
    "order_id": "113-0000001",
    "merchant_token": "A1B2C3D4",
    "purchased_at": "2026-11-02T09:15:00-08:00",
    "units": 1,
    "promised_ship_date": "2026-11-02",
    "promised_delivery_date": "2026-11-04",
    "first_scan_at": None,
    "ship_confirmed_at": "2026-11-02T15:05:00-08:00",
    "delivered_at": None,
    "buy_shipping": True,
    "carrier": "UPS Ground",
    "tracking_id": "1Z999AA10000000001",
    "ship_to_state": "CA",
    "cancelled_at": None,
    "cancelled_by": None,
    "cancel_requested_at": None,
}
EVENTS_EXAMPLE = [
    {
        "event_id": "trk_evt_0001",
        "carrier": "UPS Ground",
        "tracking_id": "1Z999AA10000000001",
        "type": "first_scan",
        "occurred_at": "2026-11-02T16:40:00-08:00",
    },
    {
        "event_id": "trk_evt_0002",
        "carrier": "UPS Ground",
        "tracking_id": "1Z999AA10000000001",
        "type": "delivered",
        "occurred_at": "2026-11-04T13:20:00-08:00",
    },
]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _error_response(description: str, **headers: dict) -> dict:
    response: dict = {"description": description, "content": {JSON: {"schema": _ref("Error")}}}
    if headers:
        response["headers"] = headers
    return response


RETRY_AFTER = {
    "description": "Seconds to wait before sending again.",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}
WWW_AUTHENTICATE = {"description": "The Bearer challenge.", "required": True, "schema": {"type": "string"}}


def field_schema(field: Field) -> dict:
    """A feed field's JSON schema: its type and bounds; an optional field may be null."""
    schema: dict
    if field.kind is Kind.MOMENT:
        schema = {"type": "string", "format": "date-time"}
    elif field.kind is Kind.DATE:
        schema = {"type": "string", "format": "date"}
    elif field.kind is Kind.INTEGER:
        schema = {"type": "integer", "minimum": field.minimum, "maximum": field.maximum}
    elif field.kind is Kind.BOOLEAN:
        schema = {"type": "boolean"}
    else:
        schema = {"type": "string", "maxLength": field.max_length}
        if field.choices:
            schema["enum"] = list(field.choices) if field.required else [*field.choices, "", None]
    if not field.required:
        schema["nullable"] = True
    schema["description"] = str(field.description)
    return schema


def _item_schema(fields: dict[str, Field], description: str) -> dict:
    return {
        "type": "object",
        "description": description,
        "properties": {name: field_schema(field) for name, field in fields.items()},
        "required": [name for name, field in fields.items() if field.required],
        "additionalProperties": False,
    }


def _metric_schema() -> dict:
    count = {"type": "integer", "minimum": 0}
    return {
        "type": "object",
        "properties": {
            "rate": {"type": "number", "nullable": True, "description": "null when the population is 0"},
            "units": count,
            "defect_units": count,
            "threshold": {"type": "number"},
            "passing": {"type": "boolean"},
            "at_risk": {"type": "boolean"},
            "protected_units": count,
            "eligibility_rate": {"type": "number", "nullable": True},
            "excused_units": count,
            "excused_by": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"incident": {"type": "integer"}, "units": count},
                    "required": ["incident", "units"],
                },
            },
        },
        "required": ["rate", "units", "defect_units", "threshold", "passing", "at_risk"],
    }


def _share_schema() -> dict:
    return {
        "type": "object",
        "properties": {
            "key": {"type": "string"},
            "label": {"type": "string"},
            "units": {"type": "integer"},
            "percent": {"type": "number"},
        },
        "required": ["key", "label", "units", "percent"],
    }


def _insights_schema() -> dict:
    metric_names = list(METRICS)
    nullable_string = {"type": "string", "nullable": True}
    shares = {"type": "array", "items": _ref("Share")}
    return {
        "type": "object",
        "properties": {
            "headroom": {
                "type": "object",
                "properties": {name: {"type": "integer", "nullable": True} for name in metric_names},
            },
            "at_risk": {
                "type": "object",
                "properties": {
                    "today": {"type": "string", "format": "date"},
                    "orders": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "order_id": {"type": "string"},
                                "kind": {"type": "string"},
                                "units": {"type": "integer"},
                                "purchased_at": {"type": "string", "format": "date-time"},
                                "promised_ship_date": {"type": "string", "format": "date"},
                                "promised_delivery_date": {"type": "string", "format": "date"},
                                "deadline": {"type": "string", "format": "date-time"},
                                "deadline_is_pickup": {"type": "boolean"},
                                "metrics": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                    },
                    "count": {"type": "integer"},
                    "units": {"type": "integer"},
                    "projected": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "properties": {
                                "rate": {"type": "number", "nullable": True},
                                "passing": {"type": "boolean"},
                            },
                        },
                    },
                },
                "required": ["today", "orders", "count", "units", "projected"],
            },
            "root_causes": {
                "type": "object",
                "nullable": True,
                "properties": {
                    "metric": {"type": "string"},
                    "window_days": {"type": "integer"},
                    "defect_units": {"type": "integer"},
                    "by_carrier": shares,
                    "by_weekday": shares,
                    "by_hour": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "key": {"type": "string"},
                                "label": {"type": "string"},
                                "units": {"type": "integer"},
                                "percent": {"type": "number"},
                                "after_cutoff_units": {"type": "integer"},
                            },
                        },
                    },
                    "after_cutoff_by_weekday": shares,
                    "by_state": shares,
                    "largest": nullable_string,
                    "after_cutoff": nullable_string,
                },
            },
            "settings_risks": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "kind": {"type": "string"},
                        "detail": {"type": "string"},
                        "orders": {"type": "integer"},
                        "units": {"type": "integer"},
                        "fix_url": {"type": "string"},
                    },
                },
            },
        },
        "required": ["headroom", "at_risk", "root_causes", "settings_risks"],
    }


def _performance_schema() -> dict:
    return {
        "type": "object",
        "properties": {
            "merchant_token": {"type": "string"},
            "date": {"type": "string", "format": "date"},
            "window_days": {"type": "integer", "enum": list(WINDOWS)},
            "status": {"type": "string", "enum": ["eligible", "not_eligible"]},
            "prime_badge_active": {"type": "boolean"},
            "at_risk": {"type": "boolean"},
            "metrics": {
                "type": "object",
                "properties": {name: _ref("Metric") for name in METRICS},
                "additionalProperties": False,
            },
            "requirements": {
                "type": "object",
                "properties": {
                    name: {
                        "type": "object",
                        "properties": {"passing": {"type": "boolean"}, "warning": {"type": "boolean"}},
                        "required": ["passing"],
                    }
                    for name in REQUIREMENTS
                },
            },
            "volume_control": {
                "type": "object",
                "properties": {
                    "daily_cap": {"type": "integer", "nullable": True},
                    "paused": {"type": "boolean"},
                    "paused_until": {"type": "string", "format": "date-time", "nullable": True},
                },
                "required": ["daily_cap", "paused", "paused_until"],
            },
            "insights": _ref("Insights"),
        },
        "required": [
            "merchant_token",
            "date",
            "window_days",
            "status",
            "prime_badge_active",
            "at_risk",
            "metrics",
            "requirements",
            "volume_control",
            "insights",
        ],
    }


def _incident_schema() -> dict:
    return {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "status": {"type": "string", "enum": list(Incident.Status.values)},
            "kind": {"type": "string", "enum": list(Incident.Kind.values)},
            "carrier": {"type": "string", "description": "The carrier service, or empty for every carrier."},
            "start": {"type": "string", "format": "date"},
            "end": {"type": "string", "format": "date"},
            "description": {"type": "string"},
            "order_ids": {"type": "array", "items": {"type": "string"}},
            "excused_metrics": {"type": "array", "items": {"type": "string"}},
            "submitted_at": {"type": "string", "format": "date-time"},
            "decided_at": {"type": "string", "format": "date-time", "nullable": True},
            "note": {"type": "string"},
        },
        "required": [
            "id",
            "status",
            "kind",
            "carrier",
            "start",
            "end",
            "description",
            "order_ids",
            "excused_metrics",
            "submitted_at",
            "decided_at",
            "note",
        ],
    }


def _incident_input_schema() -> dict:
    return {
        "type": "object",
        "properties": {
            "kind": {"type": "string", "enum": list(Incident.Kind.values)},
            "carrier": {"type": "string", "maxLength": CARRIER_MAX},
            "start": {"type": "string", "format": "date"},
            "end": {"type": "string", "format": "date"},
            "description": {"type": "string", "maxLength": INCIDENT_DESCRIPTION_MAX},
            "order_ids": {"type": "array", "maxItems": INCIDENT_MAX_ORDERS, "items": {"type": "string"}},
        },
        "required": ["kind", "start", "end", "description"],
    }


def _rejected_schema(id_field: str) -> dict:
    return {
        "type": "object",
        "properties": {
            "error": {"type": "string"},
            "batch": {"type": "integer"},
            "invalid": {"type": "integer", "minimum": 0},
            "unlisted": {"type": "integer", "minimum": 0},
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "index": {"type": "integer", "minimum": 0},
                        id_field: {"type": "string", "nullable": True},
                        "errors": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "field": {"type": "string", "nullable": True},
                                    "message": {"type": "string"},
                                },
                                "required": ["field", "message"],
                            },
                        },
                    },
                    "required": ["index", id_field, "errors"],
                },
            },
        },
        "required": ["error", "batch", "invalid", "unlisted", "items"],
    }


def _feed_operation(
    *, summary: str, description: str, item: str, accepted: str, rejected: str, example: list[dict]
) -> dict:
    batch = {"type": "array", "maxItems": MAX_ITEMS, "items": _ref(item), "example": example}
    return {
        "summary": summary,
        "description": description,
        "security": [{"integrationToken": []}],
        "requestBody": {
            "required": True,
            "content": {
                JSON: {"schema": batch},
                NDJSON: {
                    "schema": {
                        "type": "string",
                        "description": f"One {item} object a line (newline-delimited JSON), at most {MAX_ITEMS:,}.",
                    }
                },
            },
        },
        "responses": {
            "200": {"description": "Stored, with each item's outcome.", "content": {JSON: {"schema": _ref(accepted)}}},
            "400": _error_response("The body is not JSON (or not an array)."),
            "401": _error_response(
                "No integration token, or an unknown or revoked one.", **{"WWW-Authenticate": WWW_AUTHENTICATE}
            ),
            "403": _error_response("A seller's token, which can only read."),
            "405": _error_response("A method other than POST.", Allow={"schema": {"type": "string"}}),
            "413": _error_response(f"A body over {MAX_BODY_BYTES // (1024 * 1024)} MB or over {MAX_ITEMS:,} items."),
            "415": _error_response(f"A Content-Type other than {JSON} or {NDJSON} (UTF-8)."),
            "422": {
                "description": "Some items are invalid: nothing was stored; each problem by item and field.",
                "content": {JSON: {"schema": _ref(rejected)}},
            },
            "429": _error_response("The token's requests per minute are used up.", **{"Retry-After": RETRY_AFTER}),
            "503": _error_response(
                "The database failed: nothing was stored; send the batch again.", **{"Retry-After": RETRY_AFTER}
            ),
        },
    }


def _seller_security() -> list[dict]:
    return [{"sellerToken": []}, {"session": []}]


def openapi_document() -> dict:
    """The whole document, in English (descriptions read from the models' verbose names)."""
    with translation.override("en"):
        return _document()


def _document() -> dict:
    window = {
        "name": "window",
        "in": "query",
        "required": False,
        "description": "The window in days (default 30).",
        "schema": {"type": "string", "enum": [str(w) for w in WINDOWS]},
    }
    date = {
        "name": "date",
        "in": "query",
        "required": False,
        "description": "The evaluation date D (default the latest computed).",
        "schema": {"type": "string", "format": "date"},
    }
    unauthorized = _error_response(
        "Neither a session nor a valid seller token.", **{"WWW-Authenticate": WWW_AUTHENTICATE}
    )
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Prime Performance Portal API",
            "version": API_VERSION,
            "description": (
                "The seller's performance status and incidents (seller token or session), and the data feed of "
                'orders and carrier events (integration token). Errors are JSON: {"error": "..."}.'
            ),
        },
        "paths": {
            "/api/performance/": {
                "get": {
                    "summary": "The seller's performance status (SPEC section 6)",
                    "operationId": "performance",
                    "security": _seller_security(),
                    "parameters": [window, date],
                    "responses": {
                        "200": {"description": "The status.", "content": {JSON: {"schema": _ref("Performance")}}},
                        "400": _error_response("A window or date that can't be used."),
                        "401": unauthorized,
                        "404": _error_response("No metrics computed for the day, or an account without a seller."),
                    },
                }
            },
            "/api/incidents/": {
                "get": {
                    "summary": "The seller's incidents, newest first (SPEC section 7)",
                    "operationId": "incidents_list",
                    "security": _seller_security(),
                    "parameters": [
                        {
                            "name": "page",
                            "in": "query",
                            "required": False,
                            "description": f"The page, from 1 (default: the newest {INCIDENTS_API_PAGE_SIZE}).",
                            "schema": {"type": "integer", "minimum": 1},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": f"A page of at most {INCIDENTS_API_PAGE_SIZE} incidents, newest first.",
                            "content": {
                                JSON: {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "incidents": {"type": "array", "items": _ref("Incident")},
                                            "count": {"type": "integer", "minimum": 0},
                                            "page": {"type": "integer", "minimum": 1},
                                            "pages": {"type": "integer", "minimum": 1},
                                            "next": {"type": "string", "format": "uri", "nullable": True},
                                            "previous": {"type": "string", "format": "uri", "nullable": True},
                                        },
                                        "required": ["incidents", "count", "page", "pages", "next", "previous"],
                                    }
                                }
                            },
                        },
                        "400": _error_response("A page that is not one: a whole number from 1 to the last page."),
                        "401": unauthorized,
                    },
                },
                "post": {
                    "summary": "Report an incident (SPEC section 7)",
                    "operationId": "incidents_create",
                    "security": _seller_security(),
                    "requestBody": {"required": True, "content": {JSON: {"schema": _ref("IncidentInput")}}},
                    "responses": {
                        "201": {"description": "Reported.", "content": {JSON: {"schema": _ref("Incident")}}},
                        "400": {
                            "description": "Invalid fields (or 'body' for a body that is not a JSON object).",
                            "content": {
                                JSON: {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "errors": {
                                                "type": "object",
                                                "additionalProperties": {"type": "array", "items": {"type": "string"}},
                                            }
                                        },
                                        "required": ["errors"],
                                    }
                                }
                            },
                        },
                        "401": unauthorized,
                        "403": {"description": "A session without its CSRF token."},
                        "413": _error_response(f"A body over {INCIDENT_BODY_MAX // 1024} KB."),
                        "415": _error_response(f"A Content-Type other than {JSON}."),
                        "503": _error_response(
                            "The database failed: nothing was reported; send the report again.",
                            **{"Retry-After": RETRY_AFTER},
                        ),
                    },
                },
            },
            "/api/v1/orders": {
                "post": {
                    "operationId": "orders_feed",
                    **_feed_operation(
                        summary="Send orders (SPEC section 9)",
                        description=(
                            f"Up to {MAX_ITEMS:,} orders with the import's fields and rules, upserted per "
                            "(merchant_token, order_id); all of them, or none when any is invalid (422)."
                        ),
                        item="Order",
                        example=[ORDER_EXAMPLE],
                        accepted="OrdersAccepted",
                        rejected="OrdersRejected",
                    ),
                }
            },
            "/api/v1/tracking-events": {
                "post": {
                    "operationId": "tracking_events_feed",
                    **_feed_operation(
                        summary="Send carrier tracking events (SPEC section 9)",
                        description=(
                            "Events matched to orders by tracking id and carrier, idempotent by event_id; an event "
                            "whose order is not known yet is kept (pending) and applied when the order arrives."
                        ),
                        item="CarrierEvent",
                        example=EVENTS_EXAMPLE,
                        accepted="EventsAccepted",
                        rejected="EventsRejected",
                    ),
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This description",
                    "operationId": "openapi",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document.",
                            "content": {JSON: {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "sellerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token the seller creates in their API token settings (reads only).",
                },
                "session": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
                "integrationToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token programme staff create with manage.py create_integration_token NAME.",
                },
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}},
                    "required": ["error"],
                },
                "Order": _item_schema(ORDER_FIELDS, "An order as the import's CSV has it (SPEC section 6)."),
                "OrdersAccepted": {
                    "type": "object",
                    "properties": {
                        "batch": {"type": "integer"},
                        "created": {"type": "integer", "minimum": 0},
                        "updated": {"type": "integer", "minimum": 0},
                        "unchanged": {"type": "integer", "minimum": 0},
                        "items": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "index": {"type": "integer", "minimum": 0},
                                    "order_id": {"type": "string"},
                                    "merchant_token": {"type": "string"},
                                    "status": {"type": "string", "enum": list(ITEM_STATUSES)},
                                },
                                "required": ["index", "order_id", "merchant_token", "status"],
                            },
                        },
                    },
                    "required": ["batch", "created", "updated", "unchanged", "items"],
                },
                "OrdersRejected": _rejected_schema("order_id"),
                "CarrierEvent": _item_schema(EVENT_FIELDS_BY_NAME, "A carrier's tracking event (SPEC section 9)."),
                "EventsAccepted": {
                    "type": "object",
                    "properties": {
                        "batch": {"type": "integer"},
                        "applied": {"type": "integer", "minimum": 0},
                        "pending": {"type": "integer", "minimum": 0},
                        "repeated": {"type": "integer", "minimum": 0},
                        "items": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "index": {"type": "integer", "minimum": 0},
                                    "event_id": {"type": "string"},
                                    "status": {"type": "string", "enum": [APPLIED, PENDING]},
                                    "repeated": {"type": "boolean"},
                                },
                                "required": ["index", "event_id", "status", "repeated"],
                            },
                        },
                    },
                    "required": ["batch", "applied", "pending", "repeated", "items"],
                },
                "EventsRejected": _rejected_schema("event_id"),
                "Metric": _metric_schema(),
                "Share": _share_schema(),
                "Insights": _insights_schema(),
                "Performance": _performance_schema(),
                "Incident": _incident_schema(),
                "IncidentInput": _incident_input_schema(),
            },
        },
    }
