"""Every date, number and text a person can send is bounded: extreme values posted to every
form, put in every query parameter and passed to every command option never give a server
error; a refused value changes nothing and is answered with a message naming the field.

A table drives it: each case is one field (of a form, a query string or a command) and the
values it accepts among the extremes; every other extreme must be refused. Each value is
tried inside a savepoint rolled back afterwards, so the cases of one field start alike."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from io import StringIO

import pytest
from django import forms
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse

from metrics.models import PlanDraft, PlanOfAction
from metrics.services import daily_run, plan_submit
from sellers.factories import D, OrderFactory
from sellers.models import (
    ApiToken,
    AuditEntry,
    CarrierPickup,
    CarrierService,
    CarrierZone,
    OperatingDay,
    PrimeRegion,
    Seller,
    User,
    VolumeControlChange,
)
from sellers.services import seller_create, seller_user_create
from tests.factories import PLAN_ANSWERS

pytestmark = pytest.mark.django_db

# Saturday 2026-11-21, 10:00 in Los Angeles: the day after D, whose daily run has run.
NOW = dt.datetime(2026, 11, 21, 18, 0, tzinfo=dt.UTC)

EXTREMES = {
    "far-future-date": "9999-12-31",
    "far-future-moment": "9999-12-31T23:59",
    "year-one-date": "0001-01-01",
    "year-one-moment": "0001-01-01T00:00",
    "huge": str(10**20),
    "negative": "-1",
    "empty": "",
    "word": "abc",
    "long": "x" * 10_000,
    "nul": "ab\x00c",
}
# Text that a name may well be: everything but the empty, the overlong and the NUL byte.
NAME_LIKE = {"far-future-date", "far-future-moment", "year-one-date", "year-one-moment", "huge", "negative", "word"}

# A timeframe needs 10 characters: a date is one.
TIMEFRAME_LIKE = {"far-future-date", "far-future-moment", "year-one-date", "year-one-moment", "huge"}

ANSWERS = PLAN_ANSWERS

STATE_MODELS = [
    Seller,
    User,
    PrimeRegion,
    OperatingDay,
    CarrierService,
    CarrierPickup,
    CarrierZone,
    VolumeControlChange,
    ApiToken,
    AuditEntry,
    PlanOfAction,
    PlanDraft,
]


def database_state(*, without: tuple[type, ...] = ()) -> dict:
    return {
        model.__name__: list(model.objects.order_by("pk").values_list())
        for model in STATE_MODELS
        if model not in without
    }


@pytest.fixture
def world(clock, seller, seller_user, reviewer, make_orders):
    """A revoked seller (so the plan pages are open) with a carrier service and a token, a
    second revoked seller with a plan under review, and the reviewer; the clock at NOW."""
    clock.move_to(NOW)
    other = seller_create(merchant_token="SELLER03", name="Third Seller", enrolled_on=dt.date(2026, 1, 1))
    for revoked in (seller, other):
        make_orders(
            *(OrderFactory.build(seller=revoked) for _ in range(9)),
            *(OrderFactory.build(seller=revoked, late=True) for _ in range(3)),
        )
    daily_run(day=D)
    other_user = seller_user_create(seller=other, username="seller3", password="correct horse battery 3")
    plan = plan_submit(seller=other, user=other_user, merchant_token=other.merchant_token, **ANSWERS)
    clients = {"anonymous": Client(raise_request_exception=False)}
    for role, user in (("seller", seller_user), ("reviewer", reviewer)):
        clients[role] = Client(raise_request_exception=False)
        clients[role].force_login(user)
    return {
        "seller": Seller.objects.get(pk=seller.pk),
        "carrier": CarrierService.objects.filter(seller=seller).first(),
        "plan": plan,
        "clients": clients,
    }


def posted(bound: forms.BoundField):
    """A bound field's current value as a browser posts it (None: not posted at all)."""
    value = bound.value()
    if isinstance(bound.field, forms.BooleanField):
        return "on" if value else None
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return "" if value is None else str(value)


def unchanged_form(client: Client, url: str) -> dict:
    """The form on the page at ``url`` as the browser would post it untouched."""
    form = client.get(url).context["form"]
    data = {}
    for name in form.fields:
        value = posted(form[name])
        if value is not None:
            data[name] = value
    return data


# --- forms ---------------------------------------------------------------------------------


@dataclass
class FormCase:
    id: str
    actor: str
    url: Callable[[dict], str]
    field: str
    accepted: set[str] = field(default_factory=set)
    baseline: Callable[[Client, str, dict], dict] = lambda client, url, world: unchanged_form(client, url)
    # What may change although the value is refused: the plan form keeps what was written as
    # a draft (by design), unless the value is one that cannot be kept (too long, NUL).
    refused_may_change: tuple[type, ...] = ()
    # The login form refuses a wrong username or password with one sentence for the form,
    # naming neither, so a guesser learns nothing.
    form_error: bool = False


def carrier_baseline(client, url, world):
    return {"name": "DHL Express", "pickup_0": "17:00", "one_day_states": ["CA"]}


def plan_baseline(action):
    return lambda client, url, world: {**ANSWERS, "merchant_token": "SELLER01", "action": action}


def decision_baseline(client, url, world):
    return {"decision": "reject", "feedback": "Say which carrier was late and what changed."}


def url_of(name, **kwargs):
    return lambda world: reverse(name, kwargs={key: value(world) for key, value in kwargs.items()})


CARRIER_PK = {"pk": lambda world: world["carrier"].pk}
PLAN_PK = {"pk": lambda world: world["plan"].pk}

FORM_CASES = [
    FormCase("volume-pause-end", "seller", url_of("sellers:volume_control"), "paused_until", {"empty"},
             baseline=lambda client, url, world: {"paused": "on"}),
    FormCase("volume-daily-cap", "seller", url_of("sellers:volume_control"), "daily_cap", {"empty"}),
    FormCase("fulfilment-cutoff", "seller", url_of("sellers:fulfilment"), "cutoff_0"),
    FormCase("template-speed", "seller", url_of("sellers:shipping_template"), "speed_CA"),
    FormCase("carrier-new-name", "seller", url_of("sellers:carrier_create"), "name", NAME_LIKE,
             baseline=carrier_baseline),
    FormCase("carrier-new-pickup", "seller", url_of("sellers:carrier_create"), "pickup_0", {"empty"},
             baseline=carrier_baseline),
    FormCase("carrier-new-states", "seller", url_of("sellers:carrier_create"), "one_day_states",
             baseline=carrier_baseline),
    FormCase("carrier-edit-name", "seller", url_of("sellers:carrier_edit", **CARRIER_PK), "name", NAME_LIKE),
    FormCase("carrier-edit-pickup", "seller", url_of("sellers:carrier_edit", **CARRIER_PK), "pickup_1", {"empty"}),
    FormCase("token-name", "seller", url_of("sellers:api_tokens"), "name", NAME_LIKE,
             baseline=lambda client, url, world: {"name": "Warehouse"}),
    *(
        FormCase(f"plan-{answer}", "seller", url_of("metrics:poa_create"), answer,
                 TIMEFRAME_LIKE if answer == "timeframe" else set(), baseline=plan_baseline("submit"),
                 refused_may_change=(PlanDraft,))
        for answer in ANSWERS
    ),
    FormCase("plan-token", "seller", url_of("metrics:poa_create"), "merchant_token", baseline=plan_baseline("submit"),
             refused_may_change=(PlanDraft,)),
    *(
        FormCase(f"plan-draft-{answer}", "seller", url_of("metrics:poa_create"), answer,
                 set(EXTREMES) - {"long", "nul"}, baseline=plan_baseline("save_draft"))
        for answer in ANSWERS
    ),
    *(
        FormCase(f"plan-autosave-{answer}", "seller", url_of("metrics:poa_draft"), answer,
                 set(EXTREMES) - {"long", "nul"}, baseline=lambda client, url, world: dict(ANSWERS))
        for answer in ANSWERS
    ),
    FormCase("review-decision", "reviewer", url_of("metrics:review_decide", **PLAN_PK), "decision",
             baseline=decision_baseline),
    FormCase("review-feedback", "reviewer", url_of("metrics:review_decide", **PLAN_PK), "feedback",
             set(EXTREMES) - {"empty", "long", "nul"}, baseline=decision_baseline),
    FormCase("login-username", "anonymous", url_of("login"), "username",
             baseline=lambda client, url, world: {"password": "wrong"}, form_error=True),
    FormCase("login-password", "anonymous", url_of("login"), "password",
             baseline=lambda client, url, world: {"username": "seller1"}, form_error=True),
]  # fmt: skip


def refusal_names_the_field(response, field_name: str, *, form_error: bool = False) -> bool:
    """The answer to a refused value says which field it was: the form re-rendered with the
    error on that field, or the JSON errors keyed by it, or (a redirect) a message."""
    if response.status_code == 302:
        return bool(list(response.wsgi_request._messages))
    if response["Content-Type"].startswith("application/json"):
        return field_name in json.loads(response.content).get("errors", {})
    form = (response.context or {}).get("form")
    return form is not None and (field_name in form.errors or (form_error and bool(form.errors)))


@pytest.mark.parametrize("case", FORM_CASES, ids=[case.id for case in FORM_CASES])
def test_each_form_field_bounds_extreme_values(world, case):
    client = world["clients"][case.actor]
    url = case.url(world)
    baseline = case.baseline(client, url, world)
    problems = []
    for name, value in EXTREMES.items():
        with transaction.atomic():
            keeps_draft = case.refused_may_change if name not in {"long", "nul"} else ()
            before = database_state(without=keeps_draft)
            response = client.post(url, {**baseline, case.field: value})
            status = response.status_code
            if status >= 500:
                problems.append(f"{name}: {status}")
            elif name in case.accepted:
                if status >= 400:
                    problems.append(f"{name}: refused with {status}, should be accepted")
            else:
                if database_state(without=keeps_draft) != before:
                    problems.append(f"{name}: refused but something changed")
                if not refusal_names_the_field(response, case.field, form_error=case.form_error):
                    problems.append(f"{name}: answered {status} without an error on {case.field}")
            transaction.set_rollback(True)
    assert not problems, f"{case.id}:\n" + "\n".join(problems)


def test_a_far_pause_is_refused_with_the_latest_end_allowed(world):
    response = world["clients"]["seller"].post(
        reverse("sellers:volume_control"), {"paused": "on", "paused_until": "9999-12-31T23:59"}
    )
    errors = " ".join(response.context["form"].errors["paused_until"])
    assert "2027-11-21 10:00" in errors  # a year after NOW, in the seller's time zone
    assert not VolumeControlChange.objects.exists()


def test_a_pause_a_year_ahead_is_accepted(world):
    response = world["clients"]["seller"].post(
        reverse("sellers:volume_control"), {"paused": "on", "paused_until": "2027-11-21T10:00"}
    )
    assert response.status_code == 302
    assert VolumeControlChange.objects.get().paused_until == dt.datetime(2027, 11, 21, 18, 0, tzinfo=dt.UTC)


# --- query parameters ------------------------------------------------------------------------

QUERY_CASES = [
    ("seller", "metrics:dashboard", "window"),
    ("seller", "metrics:defects", "window"),
    ("seller", "metrics:defects", "flag"),
    ("seller", "metrics:defects", "metric"),
    ("seller", "metrics:defects", "page"),
    ("seller", "metrics:defects_csv", "window"),
    ("seller", "metrics:population", "window"),
    ("seller", "metrics:population", "metric"),
    ("seller", "metrics:population", "page"),
    ("seller", "metrics:population_csv", "window"),
    ("seller", "metrics:population_csv", "metric"),
    ("seller", "metrics:api_performance", "window"),
    ("seller", "metrics:api_performance", "date"),
    ("seller", "sellers:history", "page"),
    ("reviewer", "metrics:review_seller", "page"),
]


@pytest.mark.parametrize(("actor", "name", "parameter"), QUERY_CASES, ids=[f"{n}-{p}" for _a, n, p in QUERY_CASES])
def test_each_query_parameter_bounds_extreme_values(world, actor, name, parameter):
    client = world["clients"][actor]
    kwargs = {"pk": world["seller"].pk} if name == "metrics:review_seller" else {}
    url = reverse(name, kwargs=kwargs)
    base = {"metric": "on_time_shipment_rate"} if name.startswith("metrics:population") else {}
    before = database_state(without=(ApiToken,))
    problems = []
    for value_name, value in EXTREMES.items():
        response = client.get(url, {**base, parameter: value})
        if response.status_code >= 500:
            problems.append(f"{value_name}: {response.status_code}")
        elif (
            response.status_code == 400
            and response["Content-Type"].startswith("application/json")
            and parameter not in json.loads(response.content)["error"]
        ):
            problems.append(f"{value_name}: the error does not name {parameter}")
    assert not problems, "\n".join(problems)
    assert database_state(without=(ApiToken,)) == before


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("9999-12-31", "date must be from 2000-01-01 to 2026-11-21"),
        ("0001-01-01", "date must be from 2000-01-01 to 2026-11-21"),
        ("1999-12-31", "date must be from 2000-01-01 to 2026-11-21"),
        ("abc", "date must be written YYYY-MM-DD"),
    ],
)
def test_the_api_refuses_a_date_out_of_range(world, value, message):
    response = world["clients"]["seller"].get(reverse("metrics:api_performance"), {"date": value})
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_an_unknown_filter_is_quoted_short(world):
    response = world["clients"]["seller"].get(reverse("metrics:defects"), {"flag": "x" * 10_000})
    assert response.status_code == 400
    (error,) = response.context["errors"]
    assert error.startswith("“" + "x" * 40 + "…” is not a defect of the report")


# --- command options ---------------------------------------------------------------------------


def run_command(*args) -> str | None:
    """Run a command; the CommandError's sentence when it refuses, None when it succeeds.
    Any other exception is a traceback for the person at the terminal, and fails the test."""
    try:
        call_command(*args, stdout=StringIO(), stderr=StringIO())
    except CommandError as refusal:
        return str(refusal)
    return None


CREATE_SELLER = ["create_seller", "NEWSELLER1", "--name", "New Seller", "--username", "newseller"]
CREATE_SELLER += ["--password", "a long enough password 1", "--enrolled-on", "2026-11-01"]

COMMAND_CASES = [
    ("run_daily-date", ["run_daily", "--date", "2026-11-20"], "--date", set()),
    ("run_daily-chunk-size", ["run_daily", "--date", "2026-11-20", "--chunk-size", "100"], "--chunk-size", set()),
    ("create_seller-enrolled-on", CREATE_SELLER, "--enrolled-on", set()),
    ("create_seller-name", CREATE_SELLER, "--name", NAME_LIKE),
    (
        "create_seller-username",
        CREATE_SELLER,
        "--username",
        {"far-future-date", "year-one-date", "huge", "negative", "word"},
    ),
    ("create_seller-timezone", CREATE_SELLER, "--timezone", set()),
    ("create_seller-merchant-token", CREATE_SELLER, None, set()),
    ("import_orders-file", ["import_orders", "orders.csv"], None, set()),
]


def with_value(args: list[str], option: str | None, value: str) -> list[str]:
    args = list(args)
    if option is None:  # the first positional argument after the command's name
        args[1] = value
    elif option in args:
        args[args.index(option) + 1] = value
    else:
        args += [option, value]
    return args


@pytest.mark.parametrize(("case_id", "args", "option", "accepted"), COMMAND_CASES, ids=[c[0] for c in COMMAND_CASES])
def test_each_command_option_bounds_extreme_values(world, case_id, args, option, accepted):
    problems = []
    for name, value in EXTREMES.items():
        with transaction.atomic():
            before = database_state()
            try:
                refusal = run_command(*with_value(args, option, value))
            except Exception as exc:  # the traceback a person would see
                problems.append(f"{name}: {type(exc).__name__}: {str(exc)[:200]}")
                transaction.set_rollback(True)
                continue
            if name in accepted:
                if refusal is not None:
                    problems.append(f"{name}: refused ({refusal[:200]}), should be accepted")
            elif refusal is None:
                problems.append(f"{name}: accepted, should be refused")
            else:
                if database_state() != before:
                    problems.append(f"{name}: refused but something changed")
                if option is not None and option not in refusal:
                    problems.append(f"{name}: the refusal does not name {option}: {refusal[:200]}")
                if len(refusal) > 1000:
                    problems.append(f"{name}: the refusal is {len(refusal)} characters long")
            transaction.set_rollback(True)
    assert not problems, f"{case_id}:\n" + "\n".join(problems)


def test_run_daily_refuses_today_and_accepts_yesterday(world):
    assert "--date" in run_command("run_daily", "--date", "2026-11-21")
    assert run_command("run_daily", "--date", "2026-11-20") is None
