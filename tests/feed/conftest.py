"""The feed's world: an integration token and a client that sends batches with it."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from feed.services import integration_token_create

# When the feed's requests arrive in these tests: after every event of the example orders.
FEED_MOMENT = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
ORDERS_URL = "/api/v1/orders"
EVENTS_URL = "/api/v1/tracking-events"

# An on-time, delivered order of SELLER01 (America/Los_Angeles, the `seller` fixture), as JSON.
ON_TIME = {
    "order_id": "113-0000001",
    "merchant_token": "SELLER01",
    "purchased_at": "2026-11-02T09:15:00-08:00",
    "units": 1,
    "promised_ship_date": "2026-11-02",
    "promised_delivery_date": "2026-11-04",
    "first_scan_at": "2026-11-02T16:40:00-08:00",
    "ship_confirmed_at": "2026-11-02T15:05:00-08:00",
    "delivered_at": "2026-11-04T13:20:00-08:00",
    "buy_shipping": True,
    "carrier": "UPS Ground",
    "tracking_id": "1Z999AA10000000001",
    "ship_to_state": "CA",
    "cancelled_at": None,
    "cancelled_by": None,
    "cancel_requested_at": None,
}


def order(order_id: str, /, **fields) -> dict:
    return {**ON_TIME, "order_id": order_id, **fields}


@pytest.fixture
def feed_moment(clock):
    clock.move_to(FEED_MOMENT)
    return FEED_MOMENT


@pytest.fixture
def integration(db):
    """An integration token: (its record, the token itself)."""
    return integration_token_create(name="Marketplace orders")


class FeedClient:
    """Django's test client sending JSON batches with a bearer token."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.token = token

    def headers(self, token: str | None = None) -> dict:
        token = token or self.token
        return {"Authorization": f"Bearer {token}"} if token else {}

    def post(self, url: str, items, *, content_type: str = "application/json", token: str | None = None):
        body = items if isinstance(items, str | bytes) else json.dumps(items)
        return self.client.post(url, body, content_type=content_type, headers=self.headers(token))

    def orders(self, items, **options):
        return self.post(ORDERS_URL, items, **options)

    def events(self, items, **options):
        return self.post(EVENTS_URL, items, **options)


@pytest.fixture
def feed(client, integration, feed_moment):
    return FeedClient(client, integration[1])
