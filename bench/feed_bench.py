"""The data feed's throughput (SPEC section 9): the import file's orders sent as
POST /api/v1/orders in batches of 10,000 JSON items, through Django's request handling
in-process (the test client: no network, no server), against ``import_orders`` of the same
file (bench/run.py, step 5). Not a test: figures depend on the machine.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

INTEGER_FIELDS = ("units",)
BOOLEAN_FIELDS = ("buy_shipping",)


def json_item(row: dict[str, str]) -> dict:
    """One file row as the JSON item an integration would send: an integer, a boolean,
    ``null`` for an empty cell."""
    item: dict = {}
    for name, cell in row.items():
        if cell == "":
            item[name] = None
        elif name in INTEGER_FIELDS:
            item[name] = int(cell)
        elif name in BOOLEAN_FIELDS:
            item[name] = cell == "true"
        else:
            item[name] = cell
    return item


def json_batches(path: Path) -> list[bytes]:
    """The file's orders as JSON array bodies of the feed's largest batch, 10,000 items (made
    before timing: encoding is the client's work)."""
    from feed.body import MAX_ITEMS as size

    batches, batch = [], []
    with path.open(newline="", encoding="utf-8") as source:
        for row in csv.DictReader(source):
            batch.append(json_item(row))
            if len(batch) == size:
                batches.append(json.dumps(batch).encode())
                batch = []
    if batch:
        batches.append(json.dumps(batch).encode())
    return batches


def timed_feed(batches: list[bytes]) -> tuple[float, int]:
    """POST every batch with a new integration token; (seconds, orders created). Each must
    be accepted whole."""
    from django.conf import settings
    from django.test import Client

    from feed.services import integration_token_create

    settings.FEED_RATE_LIMIT = 10**9  # the bench sends as fast as it can
    _, token = integration_token_create(name="bench feed")
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    created = 0
    start = time.perf_counter()
    for body in batches:
        response = client.post("/api/v1/orders", body, content_type="application/json")
        if response.status_code != 200:
            raise RuntimeError(f"POST /api/v1/orders answered {response.status_code}: {response.content[:500]!r}")
        created += response.json()["created"]
    return time.perf_counter() - start, created
