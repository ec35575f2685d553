"""Enumerations in the programme's words (SPEC section 1)."""

from __future__ import annotations

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ProgrammeStatus(models.TextChoices):
    ELIGIBLE = "eligible", _("Eligible")
    NOT_ELIGIBLE = "not_eligible", _("Not eligible")


class Speed(models.TextChoices):
    """The speed a Prime shipping template promises in a state."""

    ONE_DAY = "one_day", _("One-day")
    TWO_DAY = "two_day", _("Two-day")
    NOT_OFFERED = "not_offered", _("Not offered")


class CancelledBy(models.TextChoices):
    NONE = "", _("Not cancelled")
    SELLER = "seller", _("Seller")
    CUSTOMER = "customer", _("Customer")


class TrackingEventKind(models.TextChoices):
    """What a carrier's tracking event says happened to a parcel (SPEC section 9)."""

    FIRST_SCAN = "first_scan", _("First carrier scan")
    DELIVERED = "delivered", _("Delivered to the customer")


class Weekday(models.IntegerChoices):
    """ISO-style weekday numbers as Python's ``date.weekday()`` returns them."""

    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


# A weekday inside a sentence ("orders bought on Saturday"), where Vietnamese writes it in
# lower case ("vào thứ Bảy", seeds/000) unlike a label or a column heading ("Thứ Bảy").
WEEKDAYS_IN_SENTENCE: dict[int, Promise] = {
    Weekday.MONDAY: pgettext_lazy("weekday inside a sentence", "Monday"),
    Weekday.TUESDAY: pgettext_lazy("weekday inside a sentence", "Tuesday"),
    Weekday.WEDNESDAY: pgettext_lazy("weekday inside a sentence", "Wednesday"),
    Weekday.THURSDAY: pgettext_lazy("weekday inside a sentence", "Thursday"),
    Weekday.FRIDAY: pgettext_lazy("weekday inside a sentence", "Friday"),
    Weekday.SATURDAY: pgettext_lazy("weekday inside a sentence", "Saturday"),
    Weekday.SUNDAY: pgettext_lazy("weekday inside a sentence", "Sunday"),
}


def weekday_in_sentence(weekday: int) -> str:
    """``weekday`` (``Weekday``, Monday 0) as a sentence names it, in the active language."""
    return str(WEEKDAYS_IN_SENTENCE[weekday])


WEEKDAYS = tuple(range(5))
WEEKEND_DAYS = (Weekday.SATURDAY, Weekday.SUNDAY)

# The 50 states and DC, the regions of a Prime shipping template.
STATE_NAMES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
}  # fmt: skip
STATES: tuple[str, ...] = tuple(sorted(STATE_NAMES))
NON_CONTIGUOUS_STATES = frozenset({"AK", "HI"})
# The 48 contiguous states and DC: what nationwide coverage requires (SPEC section 2).
CONTIGUOUS_REGIONS: frozenset[str] = frozenset(STATES) - NON_CONTIGUOUS_STATES
STATE_CHOICES = [(code, STATE_NAMES[code]) for code in STATES]

# Destinations an order may ship to: the template's regions plus territories and
# military post codes, which orders can carry though templates do not offer them.
SHIP_TO_CODES: frozenset[str] = frozenset(STATES) | {"PR", "VI", "GU", "AS", "MP", "AA", "AE", "AP"}


class EmailKind(models.TextChoices):
    """The emails the portal sends a seller's users (SPEC section 8), the one list of them:
    the preferences form, the senders (``sellers.selectors.email_recipients``) and the
    stored opt-outs (``User.email_opt_outs``) name a kind by its value."""

    REVOCATION = "revocation", _("Prime eligibility revoked")
    REINSTATEMENT = "reinstatement", _("Prime eligibility reinstated")
    AT_RISK = "at_risk", _("Entered at risk of losing Prime")
    PLAN_DECIDED = "plan_decided", _("Your plan of action not accepted")
    INCIDENT_DECIDED = "incident_decided", _("Your incident reports decided")
    WEBHOOK_DISABLED = "webhook_disabled", _("A webhook endpoint disabled after failing")


# Always sent: a user cannot turn these off (SPEC section 8).
MANDATORY_EMAILS: frozenset[str] = frozenset({EmailKind.REVOCATION, EmailKind.REINSTATEMENT})
# What a user may turn off, in the order the form lists them.
OPTIONAL_EMAILS: tuple[str, ...] = tuple(kind for kind in EmailKind if kind not in MANDATORY_EMAILS)
