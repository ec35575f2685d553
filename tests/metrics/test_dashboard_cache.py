"""The dashboard's content is rendered once per state of the seller and then served from
the cache: a repeated view costs a handful of indexed queries, and anything the page shows
(a daily run, a settings, status or plan change, the volume control in force, the window,
the language, the time) gives a fresh page at once."""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from metrics.presenters import dashboard
from metrics.presenters.cache import SELLER_CACHE_SECONDS
from metrics.selectors import seller_dashboard_state
from metrics.services import daily_run
from sellers.choices import CONTIGUOUS_REGIONS, Speed
from sellers.factories import D, OrderFactory
from sellers.services import shipping_template_update, volume_control_update
from tests.clock import NOW

pytestmark = pytest.mark.django_db

URL = reverse("metrics:dashboard")


@pytest.fixture(autouse=True)
def renders(locmem_cache, monkeypatch):
    """Every rendering of the dashboard's content; a view served from the cache adds none."""
    calls = []
    original = dashboard.render_dashboard_content

    def counting(*args, **kwargs):
        calls.append(kwargs["window_days"])
        return original(*args, **kwargs)

    monkeypatch.setattr(dashboard, "render_dashboard_content", counting)
    return calls


class Visit(NamedTuple):
    sql: list[str]  # the queries the view ran
    rendered: bool  # whether it rendered the content, rather than taking it from the cache


def view(client, **query) -> tuple[str, Visit]:
    """The page's HTML, and what the view did for it."""
    calls = client.renders
    before = len(calls)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, query)
    assert response.status_code == 200
    return response.content.decode(), Visit([q["sql"] for q in queries.captured_queries], len(calls) > before)


def unmasked(html: str) -> str:
    """The page without its CSRF tokens, which are masked afresh for every response."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


@pytest.fixture
def client(client, renders):
    client.renders = renders
    return client


@pytest.fixture
def page(client, seller, seller_user, make_orders, clock):
    make_orders(*(OrderFactory.build(seller=seller) for _ in range(5)))
    daily_run(day=D)
    client.force_login(seller_user)
    html, queries = view(client)
    assert queries.rendered
    return html


def test_a_repeated_view_is_the_same_page_from_a_handful_of_queries(client, page):
    html, queries = view(client)
    assert unmasked(html) == unmasked(page)
    assert not queries.rendered
    # session, account, the seller's state (latest day, snapshot moment, audit entry), volume control
    assert len(queries.sql) <= 5, queries.sql
    assert not any('"sellers_order"' in sql for sql in queries.sql)


def test_a_new_daily_run_shows_at_once(client, seller, page, clock):
    clock.move_to(NOW + dt.timedelta(days=1))  # D+1 has ended everywhere
    daily_run(day=D + dt.timedelta(days=1))
    html, queries = view(client)
    assert queries.rendered
    assert 'datetime="2026-11-21"' in html and 'datetime="2026-11-21"' not in page


def test_a_settings_change_shows_at_once(client, seller, seller_user, page):
    """A change of the shipping template touches no column of the seller: its audit entry
    is what tells the cache."""
    covered = f"{len(CONTIGUOUS_REGIONS)} of {len(CONTIGUOUS_REGIONS)} contiguous regions offer Prime."
    assert covered in page
    shipping_template_update(
        seller=seller, actor=seller_user, region_automation=False, speeds={"CA": Speed.NOT_OFFERED}
    )
    html, queries = view(client)
    assert queries.rendered
    assert covered not in html


def test_a_revocation_shows_at_once(client, seller, page, make_orders, clock):
    assert "portal-status-not-eligible" not in page
    make_orders(
        *(
            OrderFactory.build(
                seller=seller, buy_shipping=False, purchased_on=D - dt.timedelta(days=1), order_id=f"L{n}"
            )
            for n in range(10)
        )
    )
    daily_run(day=D)
    html, queries = view(client)
    assert queries.rendered
    assert "portal-status-not-eligible" in html


def test_a_pause_shows_the_moment_it_takes_effect(client, seller, seller_user, page, clock):
    volume_control_update(
        seller=seller,
        actor=seller_user,
        daily_cap=None,
        paused=True,
        paused_until=NOW + dt.timedelta(days=2),
        now=NOW + dt.timedelta(seconds=60),
    )
    html, _queries = view(client)
    assert "Paused until" not in html  # not yet in force
    clock.move_to(NOW + dt.timedelta(seconds=61))
    html, queries = view(client)
    assert queries.rendered
    assert "Paused until" in html


def test_each_window_and_language_has_its_own_page(client, page):
    html7, queries = view(client, window=7)
    assert queries.rendered and html7 != page
    again, queries = view(client, window=7)
    assert not queries.rendered and unmasked(again) == unmasked(html7)
    client.cookies["django_language"] = "de"
    german, queries = view(client)
    assert queries.rendered
    assert "Leistung der letzten 30 Tage" in german and german != page


def test_orders_at_risk_are_at_most_the_cache_lifetime_old_and_alone_recomputed(client, page, clock):
    """Past the short bucket only the orders at risk are read again (their aggregate, and
    their list when some are); the rest of the day's page is served from the cache."""
    clock.move_to(NOW + dt.timedelta(seconds=SELLER_CACHE_SECONDS))
    html, queries = view(client)
    assert not queries.rendered
    assert 1 <= len([sql for sql in queries.sql if '"sellers_order"' in sql]) <= 2, queries.sql
    assert unmasked(html) == unmasked(page)


def test_a_view_later_in_the_day_equals_a_fresh_render(client, seller, page, clock, make_orders):
    """Hours after the first view, with an order at risk that was not there then: the page
    from the day's cache and the orders at risk of now is the page rendered afresh now."""
    later = NOW + dt.timedelta(hours=3)
    clock.move_to(later)
    make_orders(OrderFactory.build(seller=seller, purchased_at=later - dt.timedelta(hours=1), not_shipped=True))
    html, queries = view(client)
    assert not queries.rendered
    state = seller_dashboard_state(seller=seller)
    fresh = dashboard.render_dashboard_content(
        None, seller=seller, day=state.day, window_days=30, control=seller.volume_control_at(later), now=later
    )
    assert unmasked(fresh) in unmasked(html)
    assert "portal-at-risk-order" in fresh and "portal-at-risk-order" not in page


def test_another_seller_in_the_same_state_never_gets_this_page(
    client, seller, page, make_orders, other_seller, other_seller_user
):
    make_orders(*(OrderFactory.build(seller=other_seller) for _ in range(5)))
    daily_run(day=D)
    client.force_login(other_seller_user)
    html, queries = view(client)
    assert queries.rendered
    assert "Second Seller" in html and "First Seller" not in html


def test_an_unknown_window_shows_its_notice_on_the_cached_thirty_day_page(client, page):
    """What the visitor typed is shown, but it is no part of the key: any text in ?window=
    serves the one 30-day page from the cache."""
    for typed in ("14", "x"):
        html, queries = view(client, window=typed)
        assert not queries.rendered
        assert f"There is no “{typed}” window; showing the last 30 days." in html
