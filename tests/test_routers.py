"""The read replica's router (portal.routers, issue 18): where each read and write goes, when
a seller's own write keeps their pages on the primary, and how a replica that is down, behind
or failing falls back to the primary. The replica here is a second connection to the test
database, its replication state given by each test; tests/test_replica.py runs a real one."""

from __future__ import annotations

import contextlib
import logging

import pytest
from django.db import OperationalError, connections, router, transaction
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from metrics.models import DailySnapshot
from metrics.services import daily_run
from portal import routers
from portal.routers import (
    MARK_EVERY_SELLER,
    REPLICA,
    WRITE_MARK_SECONDS,
    ReplicaRouter,
    ReplicaState,
    lag_problem,
    replica_choice,
    replica_mark_written,
    replica_serve,
    wal_position_value,
    written_position,
)
from sellers.factories import D, OrderFactory
from sellers.models import Order
from sellers.services import volume_control_update
from tests.clock import NOW
from tests.replica import replica_alias
from tests.test_settings import import_settings, refused

CURRENT = ReplicaState(in_recovery=True, replayed=True, seconds_behind=0.0)
BEHIND = ReplicaState(in_recovery=True, replayed=False, seconds_behind=1.0)

# The read-only pages that opt in, and pages that must not.
REPLICA_PAGES = [
    reverse("metrics:dashboard"),
    reverse("metrics:defects"),
    reverse("metrics:defects_csv"),
    reverse("metrics:population") + "?metric=on_time_shipment_rate",
    reverse("metrics:population_csv") + "?metric=on_time_shipment_rate",
    reverse("metrics:api_performance"),
]
PRIMARY_PAGES = [reverse("sellers:volume_control"), reverse("sellers:settings"), reverse("metrics:poa_list")]


class FakeReplica:
    """The replica's answers to ``Replica.state``: ``replayed`` decides whether it has the
    position asked about; ``asked`` lists the positions."""

    def __init__(self, state: ReplicaState = CURRENT):
        self.answer = state
        self.asked: list[str] = []

    def __call__(self, position: str) -> ReplicaState:
        self.asked.append(position)
        return self.answer


pytestmark = pytest.mark.django_db(databases=["default", REPLICA])


@pytest.fixture(scope="module", autouse=True)
def replica_settings(django_db_setup):
    """A replica alias, as DATABASE_REPLICA_URL makes one: here a second connection to the
    test database, present before Django's test cases list the aliases a test may use."""
    with replica_alias() as replica_settings:
        yield replica_settings


@pytest.fixture(autouse=True)
def checked_every_time(settings):
    """The replica is checked on every request; this process has no verdict on it yet."""
    settings.DATABASE_REPLICA_CHECK_SECONDS = 0
    routers.replica.forget()
    yield
    routers.replica.forget()


@pytest.fixture
def fake_replica(monkeypatch):
    fake = FakeReplica()
    monkeypatch.setattr(routers.replica, "state", fake)
    return fake


@pytest.fixture
def down_replica(replica_settings):
    """The replica alias on a port nothing listens on."""
    address = {"HOST": replica_settings["HOST"], "PORT": replica_settings["PORT"]}
    connections[REPLICA].close()
    replica_settings.update(HOST="127.0.0.1", PORT="1")
    yield
    connections[REPLICA].close()
    replica_settings.update(address)


@contextlib.contextmanager
def no_replica():
    """As without DATABASE_REPLICA_URL, while the block runs."""
    replica_settings = connections.settings.pop(REPLICA)
    try:
        yield
    finally:
        connections.settings[REPLICA] = replica_settings


@pytest.fixture
def computed(seller, make_orders):
    make_orders(*(OrderFactory.build(seller=seller) for _ in range(3)))
    daily_run(day=D)
    return seller


def read_alias() -> str:
    return router.db_for_read(Order)


# --- Without a replica -----------------------------------------------------------------------


def test_without_a_replica_the_router_has_no_opinion_and_pages_read_the_primary(locmem_cache):
    with no_replica():
        decide = ReplicaRouter()
        assert decide.db_for_read(Order) is None and decide.db_for_write(Order) is None
        assert replica_choice(seller_id=1) is None
        replica_mark_written(seller_ids=[1])
    assert locmem_cache.get_many([MARK_EVERY_SELLER, f"{MARK_EVERY_SELLER}:1"]) == {}


# --- Where reads and writes go ---------------------------------------------------------------


def test_a_page_that_opts_in_reads_from_a_current_replica_and_writes_to_the_primary(fake_replica):
    seen = []

    def render():
        seen.append((read_alias(), router.db_for_write(Order)))
        return StreamingHttpResponse([])

    replica_serve(render, seller_id=None)
    assert seen == [(REPLICA, "default")]
    assert read_alias() == "default"  # after the page


def test_reads_outside_a_page_that_opts_in_stay_on_the_primary(fake_replica):
    assert read_alias() == "default"
    assert fake_replica.asked == []


def test_a_row_read_from_the_replica_is_saved_to_the_primary(fake_replica, seller):
    seller._state.db = REPLICA
    assert router.db_for_write(type(seller), instance=seller) == "default"
    assert router.allow_relation(seller, Order(seller=seller)) is True


def test_the_replica_is_never_migrated():
    assert ReplicaRouter().allow_migrate(REPLICA, "sellers") is False
    assert ReplicaRouter().allow_migrate("default", "sellers") is None


def test_raw_sql_of_a_page_reads_from_where_the_page_reads(fake_replica):
    aliases = []
    replica_serve(
        lambda: aliases.append(routers.read_connection(DailySnapshot).alias) or StreamingHttpResponse([]),
        seller_id=None,
    )
    assert aliases == [REPLICA]
    assert routers.read_connection(DailySnapshot).alias == "default"


def test_a_streamed_download_reads_from_the_replica_while_it_streams(fake_replica):
    def chunks():
        for _ in range(3):
            yield read_alias().encode()

    response = replica_serve(lambda: StreamingHttpResponse(chunks()), seller_id=None)
    assert read_alias() == "default"  # the view has returned; the chunks are made as they are sent
    assert b"".join(response.streaming_content) == REPLICA.encode() * 3
    assert read_alias() == "default"


# --- Read-your-own-writes --------------------------------------------------------------------


def test_a_sellers_write_keeps_their_pages_on_the_primary_until_the_replica_has_replayed_it(
    fake_replica, locmem_cache, seller, other_seller, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        replica_mark_written(seller_ids=[seller.pk])
    position = written_position(seller_id=seller.pk)
    assert position is not None and wal_position_value(position) > 0

    fake_replica.answer = BEHIND
    assert replica_choice(seller_id=seller.pk) is None
    assert fake_replica.asked[-1] == position
    # Another seller has written nothing: their pages read from the replica, behind or not.
    assert replica_choice(seller_id=other_seller.pk) == REPLICA

    fake_replica.answer = CURRENT
    assert replica_choice(seller_id=seller.pk) == REPLICA


def test_a_write_is_remembered_once_it_commits_and_not_when_it_rolls_back(
    locmem_cache, seller, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        replica_mark_written(seller_ids=[seller.pk])
        raise RuntimeError("rolled back")
    assert callbacks == []
    with django_capture_on_commit_callbacks() as callbacks:
        replica_mark_written(seller_ids=[seller.pk])
        assert written_position(seller_id=seller.pk) is None  # not before the commit
    for callback in callbacks:
        callback()
    assert written_position(seller_id=seller.pk) is not None


def test_the_daily_run_keeps_every_sellers_pages_on_the_primary_until_the_replica_has_it(
    fake_replica, locmem_cache, seller, other_seller, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        replica_mark_written(seller_ids=None)
    fake_replica.answer = BEHIND
    assert replica_choice(seller_id=seller.pk) is None
    assert replica_choice(seller_id=other_seller.pk) is None
    assert replica_choice(seller_id=None) is None


def test_the_later_of_a_sellers_mark_and_everyones_mark_is_the_one_waited_for(fake_replica, locmem_cache, seller):
    locmem_cache.set(MARK_EVERY_SELLER, "0/5000000", WRITE_MARK_SECONDS)
    locmem_cache.set(f"{MARK_EVERY_SELLER}:{seller.pk}", "1/10", WRITE_MARK_SECONDS)
    assert written_position(seller_id=seller.pk) == "1/10"
    assert written_position(seller_id=seller.pk + 1) == "0/5000000"


def test_a_post_by_a_sellers_user_keeps_that_seller_on_the_primary(
    client, seller_user, other_seller, fake_replica, locmem_cache, django_capture_on_commit_callbacks
):
    client.force_login(seller_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("sellers:volume_control"), {"daily_cap": "7"})
    assert response.status_code == 302
    assert written_position(seller_id=seller_user.seller_id) is not None
    assert written_position(seller_id=other_seller.pk) is None


def test_a_change_audited_for_a_seller_keeps_them_on_the_primary_whoever_made_it(
    seller, reviewer, fake_replica, locmem_cache, django_capture_on_commit_callbacks, clock
):
    with django_capture_on_commit_callbacks(execute=True):
        volume_control_update(seller=seller, actor=reviewer, daily_cap=5, paused=False, paused_until=None, now=NOW)
    assert written_position(seller_id=seller.pk) is not None


# --- How far behind is too far ---------------------------------------------------------------


def test_a_replica_that_has_replayed_everything_is_current_however_quiet_the_primary_was():
    assert lag_problem(ReplicaState(True, True, 86_400.0), max_lag=30) is None


def test_a_replica_behind_by_more_than_the_allowed_lag_is_not_used():
    assert lag_problem(ReplicaState(True, False, 30.0), max_lag=30) is None
    assert lag_problem(ReplicaState(True, False, 31.0), max_lag=30) == (
        "is 31 s behind the primary (more than DATABASE_REPLICA_MAX_LAG_SECONDS=30)"
    )
    assert lag_problem(ReplicaState(True, False, None), max_lag=30) == "has not replayed any transaction yet"


def test_a_server_that_is_no_standby_is_not_used_as_a_replica():
    assert lag_problem(ReplicaState(False, False, None), max_lag=30).startswith("is not a standby")


def test_the_second_connection_to_the_test_database_is_no_standby(caplog):
    """The real check, on a real server that is not a replica: refused, said once."""
    with caplog.at_level(logging.WARNING, logger="portal.routers"):
        assert replica_choice(seller_id=None) is None
        assert replica_choice(seller_id=None) is None
    assert [r.getMessage() for r in caplog.records] == [
        f"Reading from the primary: the replica {routers._where()} is not a standby (pg_is_in_recovery() is "
        "false): point DATABASE_REPLICA_URL at a streaming replica; checking again every 0 s."
    ]


def test_a_replica_too_far_behind_serves_again_once_it_has_caught_up(fake_replica, caplog, settings):
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 30
    fake_replica.answer = ReplicaState(True, False, 45.0)
    with caplog.at_level(logging.INFO, logger="portal.routers"):
        assert replica_choice(seller_id=None) is None
        fake_replica.answer = CURRENT
        assert replica_choice(seller_id=None) == REPLICA
    assert [r.levelname for r in caplog.records] == ["WARNING", "INFO"]
    assert "is 45 s behind the primary" in caplog.records[0].getMessage()
    assert "again: it has caught up" in caplog.records[1].getMessage()


def test_the_replica_is_checked_at_most_every_check_interval(fake_replica, settings, monkeypatch):
    settings.DATABASE_REPLICA_CHECK_SECONDS = 5
    moments = iter([100.0, 102.0, 104.9, 105.1])
    monkeypatch.setattr(routers, "monotonic", lambda: next(moments))
    for _ in range(4):
        replica_choice(seller_id=None)
    assert len(fake_replica.asked) == 2  # at 100.0 and 105.1


# --- Down or failing: the primary serves, never a 500 ----------------------------------------


def test_a_replica_that_is_down_falls_back_to_the_primary_with_one_log_line(
    client, seller_user, computed, down_replica, caplog, clock
):
    client.force_login(seller_user)
    with caplog.at_level(logging.WARNING, logger="portal.routers"):
        responses = [client.get(reverse("metrics:dashboard")) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert len(caplog.records) == 1
    assert caplog.records[0].getMessage().startswith("Reading from the primary: the replica 127.0.0.1:1/")
    assert "is unreachable" in caplog.records[0].getMessage()


def test_a_replica_that_fails_under_a_page_has_it_rendered_on_the_primary(
    client, seller_user, computed, down_replica, monkeypatch, caplog, clock
):
    """Healthy when checked, unreachable when the page reads: the page is rendered again."""
    monkeypatch.setattr(routers.replica, "state", FakeReplica())
    client.force_login(seller_user)
    with caplog.at_level(logging.WARNING, logger="portal.routers"):
        response = client.get(reverse("metrics:dashboard"))
    assert response.status_code == 200
    assert "SELLER01" in response.content.decode()
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        f"Reading from the primary: the replica {routers._where()} failed during a page"
    ]


def test_an_error_of_the_primary_under_a_page_is_not_hidden(fake_replica):
    def render():
        raise OperationalError("the primary went away")

    with pytest.raises(OperationalError, match="the primary went away"):
        replica_serve(render, seller_id=None)


# --- The pages that opt in, with a replica the test database can be read through -------------


@pytest.mark.django_db(transaction=True, databases=["default", REPLICA])
@pytest.mark.parametrize("url", REPLICA_PAGES)
def test_the_read_only_pages_read_from_the_replica(client, seller_user, computed, fake_replica, url, clock):
    client.force_login(seller_user)
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200
    assert on_replica.captured_queries, f"{url} read nothing from the replica"


@pytest.mark.django_db(transaction=True, databases=["default", REPLICA])
@pytest.mark.parametrize("url", PRIMARY_PAGES)
def test_the_settings_and_plan_pages_read_from_the_primary(client, seller_user, computed, fake_replica, url, clock):
    client.force_login(seller_user)
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        response = client.get(url)
    assert response.status_code == 200
    assert on_replica.captured_queries == []
    assert fake_replica.asked == []


# --- Settings --------------------------------------------------------------------------------


REPLICA_URL = "postgres://portal@replica.example.com:5432/portal"


def test_without_database_replica_url_there_is_no_replica():
    result = import_settings("portal.settings", DEBUG="true", show="'replica' in s.DATABASES")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"DATABASE_REPLICA_URL": REPLICA_URL}, "DATABASE_REPLICA_URL is set but CACHE_URL is not"),
        (
            {"DATABASE_REPLICA_URL": "mysql://portal@replica.example.com/portal", "CACHE_URL": "redis://r:6379/1"},
            "DATABASE_REPLICA_URL='mysql://portal@replica.example.com/portal' is not a PostgreSQL database",
        ),
        ({"DATABASE_REPLICA_MAX_LAG_SECONDS": "301"}, "DATABASE_REPLICA_MAX_LAG_SECONDS=301 is out of range"),
    ],
)
def test_a_replica_setting_that_cannot_work_stops_start_up(environment, message):
    assert refused(import_settings("portal.settings", DEBUG="true", **environment), message)


def test_database_replica_url_adds_the_replica_the_router_reads_from():
    result = import_settings(
        "portal.settings",
        DEBUG="true",
        DATABASE_REPLICA_URL=REPLICA_URL,
        CACHE_URL="redis://127.0.0.1:6379/1",
        show=(
            "(r := s.DATABASES['replica'])['HOST'], r['TEST'], r['OPTIONS'], r['CONN_HEALTH_CHECKS'], "
            "s.DATABASE_ROUTERS"
        ),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "replica.example.com {'MIRROR': 'default'} {'connect_timeout': 2} True ['portal.routers.ReplicaRouter']"
    )
