"""The first view of a seller's day is cheap: the daily run's chunk queues a background
warm-up (``metrics.presenters.warm``) that renders its largest sellers' dashboards and JSON
statuses into the cache under the keys the views compute, so the first view after the run
is served from the cache, the very page it would have rendered. And /api/performance/ is
cached per state of the seller as the dashboard is."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from metrics import tasks
from metrics.presenters import dashboard
from metrics.presenters.warm import seller_pages_warm, sellers_to_warm
from metrics.services import daily_run
from sellers.factories import D, OrderFactory
from sellers.services import seller_create, volume_control_update
from tests.clock import NOW

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("metrics:dashboard")
API = "/api/performance/"


@pytest.fixture(autouse=True)
def renders(locmem_cache, monkeypatch):
    """The windows of every rendering of the dashboard's content."""
    calls: list[int] = []
    original = dashboard.render_dashboard_content

    def counting(*args, **kwargs):
        calls.append(kwargs["window_days"])
        return original(*args, **kwargs)

    monkeypatch.setattr(dashboard, "render_dashboard_content", counting)
    return calls


def unmasked(html: str) -> str:
    """The page without its CSRF tokens, masked afresh for every response."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


@pytest.fixture
def computed(seller, seller_user, make_orders, clock, client):
    make_orders(
        *(OrderFactory.build(seller=seller) for _ in range(5)),
        *(OrderFactory.build(seller=seller, late_delivery=2, buy_shipping=False) for _ in range(2)),
    )
    daily_run(day=D)
    client.force_login(seller_user)
    return seller


def order_queries(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if '"sellers_order"' in q["sql"]]


def test_the_first_view_after_the_warm_up_is_the_page_it_would_have_rendered(
    client, computed, renders, locmem_cache, clock
):
    rendered = client.get(DASHBOARD).content.decode()
    assert renders == [30]
    locmem_cache.clear()
    assert seller_pages_warm(day=D, seller_ids=[computed.pk], now=NOW) == 1
    assert sorted(renders[1:]) == [7, 30]
    with CaptureQueriesContext(connection) as queries:
        warmed = client.get(DASHBOARD).content.decode()
    assert len(renders) == 3, "the view took the warmed page"
    assert unmasked(warmed) == unmasked(rendered)
    assert not order_queries(queries)


def test_the_warm_up_renders_in_the_language_of_the_sellers_accounts(client, computed, seller_user, renders):
    seller_user.language = "de"
    seller_user.save(update_fields=["language"])
    seller_pages_warm(day=D, seller_ids=[computed.pk], now=NOW)
    german = client.get(DASHBOARD).content.decode()
    assert len(renders) == 2, "the German view took the warmed page"
    assert "Leistung der letzten 30 Tage" in german


def test_the_warm_up_skips_a_seller_whose_latest_day_is_later(computed, renders, clock):
    clock.move_to(NOW + dt.timedelta(days=1))
    daily_run(day=D + dt.timedelta(days=1))
    assert seller_pages_warm(day=D, seller_ids=[computed.pk], now=NOW) == 0
    assert renders == []


def test_the_warm_up_takes_the_largest_sellers_of_the_chunk_first_and_at_most_its_limit(
    seller, other_seller, make_orders, clock
):
    small = seller_create(merchant_token="SELLER03", name="Third Seller", enrolled_on=dt.date(2026, 1, 1))
    make_orders(
        *(OrderFactory.build(seller=seller) for _ in range(2)),
        *(OrderFactory.build(seller=other_seller) for _ in range(6)),
        OrderFactory.build(seller=small),
    )
    daily_run(day=D)
    ids = [seller.pk, other_seller.pk, small.pk]
    assert sellers_to_warm(day=D, seller_ids=ids) == [other_seller, seller, small]
    assert sellers_to_warm(day=D, seller_ids=ids, limit=2) == [other_seller, seller]
    assert sellers_to_warm(day=D - dt.timedelta(days=1), seller_ids=ids) == []


def test_a_chunk_queues_the_warm_up_only_with_a_broker(seller, make_orders, clock, settings, monkeypatch):
    """In the background: with a broker the chunk only queues it; without one (tasks run
    in-process) the run would wait for it, so nothing is warmed."""
    make_orders(OrderFactory.build(seller=seller))
    queued: list[tuple] = []
    monkeypatch.setattr(tasks.warm_seller_pages, "delay", lambda *args: queued.append(args))
    tasks.evaluate_sellers_chunk(D.isoformat(), [seller.pk])
    assert queued == []
    settings.CELERY_TASK_ALWAYS_EAGER = False
    tasks.evaluate_sellers_chunk(D.isoformat(), [seller.pk])
    assert queued == [(D.isoformat(), [seller.pk])]


def test_the_warm_up_task_warms_the_chunk(computed, renders, clock):
    assert tasks.warm_seller_pages(D.isoformat(), [computed.pk]) == 1
    assert sorted(renders) == [7, 30]


# --- /api/performance/ ------------------------------------------------------------------


def test_a_repeated_status_is_the_same_json_without_reading_orders(client, computed):
    first = client.get(API, {"window": 30})
    with CaptureQueriesContext(connection) as queries:
        again = client.get(API, {"window": 30})
    assert again.status_code == 200
    assert again.json() == first.json()
    assert not order_queries(queries)
    # session, account, seller, its state, the volume control in force
    assert len(queries.captured_queries) <= 5, [q["sql"] for q in queries.captured_queries]


def test_head_is_served_from_the_same_cache(client, computed):
    client.get(API)
    with CaptureQueriesContext(connection) as queries:
        response = client.head(API)
    assert response.status_code == 200
    assert not order_queries(queries)


def test_the_warmed_status_is_the_json_it_would_have_built(client, computed, locmem_cache):
    built = {window: client.get(API, {"window": window}).json() for window in (7, 30)}
    locmem_cache.clear()
    seller_pages_warm(day=D, seller_ids=[computed.pk], now=NOW)
    for window in (7, 30):
        with CaptureQueriesContext(connection) as queries:
            warmed = client.get(API, {"window": window}).json()
        assert warmed == built[window]
        assert not order_queries(queries)


def test_a_new_day_and_a_pause_show_in_the_status_at_once(client, computed, seller_user, clock):
    assert client.get(API).json()["date"] == D.isoformat()
    volume_control_update(
        seller=computed,
        actor=seller_user,
        daily_cap=None,
        paused=True,
        paused_until=NOW + dt.timedelta(days=2),
        now=NOW + dt.timedelta(seconds=60),
    )
    assert client.get(API).json()["volume_control"]["paused"] is False  # not yet in force
    clock.move_to(NOW + dt.timedelta(seconds=61))
    assert client.get(API).json()["volume_control"]["paused"] is True
    clock.move_to(NOW + dt.timedelta(days=1))
    daily_run(day=D + dt.timedelta(days=1))
    assert client.get(API).json()["date"] == (D + dt.timedelta(days=1)).isoformat()


def test_another_seller_never_gets_this_sellers_cached_status(
    client, computed, other_seller, other_seller_user, make_orders
):
    client.get(API)
    make_orders(OrderFactory.build(seller=other_seller))
    daily_run(day=D)
    client.force_login(other_seller_user)
    body = client.get(API).json()
    assert body["merchant_token"] == other_seller.merchant_token
    assert json.dumps(body).count(computed.merchant_token) == 0
