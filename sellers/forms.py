"""Forms of the seller's settings editors: they validate and convert, the services act.

Each refusal is a sentence that names the day or state and says how to fix it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from django import forms
from django.forms import BoundField
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from portal.bounds import text_error_messages
from portal.once import OnceField
from sellers.choices import OPTIONAL_EMAILS, STATE_CHOICES, STATE_NAMES, STATES, WEEKDAYS, EmailKind, Speed, Weekday
from sellers.models import CarrierService, OperatingDay, Seller, VolumeControlChange, paused_by
from sellers.requirements import clock, cutoff_requirement

# A cap of 0 would hide every order's Prime badge while the badge still shows as on:
# pausing says that plainly, so a cap is at least one order.
DAILY_CAP_MIN = 1
DAILY_CAP_MAX = 10_000_000
# A pause ends at most this far ahead; a longer one is a pause without an end, switched
# off by hand. (Far ends are typing mistakes: 9999-12-31 has no UTC moment in most zones.)
PAUSE_MAX_AHEAD = dt.timedelta(days=365)


# A time of day as the portal writes every time: 24-hour HH:MM.
CLOCK_PATTERN = "([01][0-9]|2[0-3]):[0-5][0-9]"


def _time_input() -> forms.TimeInput:
    """A text box for a 24-hour HH:MM time. Not ``type="time"``: browsers show that in the
    operating system's locale (14:00 as "02:00 PM" in Chromium on an English system), beside
    the 24-hour times the pages and the programme's rules use. The pattern guides the
    browser; the TimeField still validates on the server. These fields are laid out by hand
    in tables, so they carry Bootstrap's classes themselves."""
    return forms.TimeInput(
        attrs={
            "class": "form-control form-control-sm font-monospace",
            "inputmode": "numeric",
            "pattern": CLOCK_PATTERN,
            "placeholder": "HH:MM",
            "maxlength": 5,
            "size": 5,
            "autocomplete": "off",
            "title": _("24-hour time, HH:MM, e.g. 14:00"),
        },
        format="%H:%M",
    )


class ShippingTemplateForm(forms.Form):
    """The speed of each of the 50 states and DC, and the region-automation switch.

    While automation is on the speed fields are disabled: a posted speed is ignored and the
    derived one kept, so the manual template cannot be edited behind automation's back.
    """

    region_automation = forms.BooleanField(
        label=_("Region automation"),
        required=False,
        help_text=_(
            "Derive the template from your carrier services: each state gets the fastest speed any of them offers."
        ),
    )

    def __init__(self, *args, speeds: Mapping[str, str], region_automation: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region_automation"].initial = region_automation
        for state in STATES:
            self.fields[f"speed_{state}"] = forms.ChoiceField(
                label=STATE_NAMES[state],
                choices=Speed.choices,
                initial=speeds.get(state, Speed.NOT_OFFERED),
                widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
                disabled=region_automation,
            )

    def speed_fields(self) -> Iterator[tuple[str, BoundField]]:
        for state in STATES:
            yield state, self[f"speed_{state}"]

    def speeds(self) -> dict[str, str]:
        return {state: self.cleaned_data[f"speed_{state}"] for state in STATES}


class FulfilmentForm(forms.Form):
    """Per weekday: operated and the order cutoff; and six-day delivery (SPEC section 1).

    Refuses a cutoff before the minimum of its day's cutoff requirement (weekday or weekend,
    ``sellers.requirements``), which the programme would revoke (SPEC section 2), and an
    operated day without a cutoff.
    """

    weekend_delivery = forms.BooleanField(
        label=_("Six-day delivery"),
        required=False,
        help_text=_("Your carrier services pick up and deliver on Saturday."),
    )

    def __init__(self, *args, days: Mapping[int, OperatingDay], weekend_delivery: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["weekend_delivery"].initial = weekend_delivery
        for weekday in Weekday:
            day = days.get(weekday)
            self.fields[f"operated_{weekday}"] = forms.BooleanField(
                label=_("%(day)s operated") % {"day": weekday.label},
                required=False,
                initial=bool(day and day.operated),
                widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
            )
            self.fields[f"cutoff_{weekday}"] = forms.TimeField(
                label=_("%(day)s order cutoff") % {"day": weekday.label},
                required=False,
                initial=day.cutoff if day else None,
                widget=_time_input(),
                error_messages={
                    "invalid": _("Enter the cutoff as hours and minutes, e.g. %(example)s.")
                    % {"example": clock(cutoff_requirement(weekday).cutoff)}
                },
            )

    def weekday_rows(self) -> Iterator[tuple[Weekday, BoundField, BoundField]]:
        for weekday in Weekday:
            yield weekday, self[f"operated_{weekday}"], self[f"cutoff_{weekday}"]

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns self.cleaned_data, typed as optional by django-stubs
        cleaned = self.cleaned_data
        for weekday in Weekday:
            field = f"cutoff_{weekday}"
            if field in self.errors or not cleaned.get(f"operated_{weekday}"):
                continue
            cutoff = cleaned.get(field)
            weekday_rule = weekday in WEEKDAYS
            minimum = cutoff_requirement(weekday).cutoff
            params = {"day": weekday.label, "minimum": clock(minimum)}
            if cutoff is None:
                self.add_error(
                    field,
                    _("%(day)s: an operated day needs an order cutoff. Set %(minimum)s or later, or untick operated.")
                    % params,
                )
            elif cutoff < minimum:
                params["cutoff"] = clock(cutoff)
                message = (
                    _(
                        "%(day)s: the cutoff %(cutoff)s is before %(minimum)s; the programme revokes Prime for "
                        "weekday cutoffs before %(minimum)s. Set %(minimum)s or later."
                    )
                    if weekday_rule
                    else _(
                        "%(day)s: the cutoff %(cutoff)s is before %(minimum)s; the programme revokes Prime for "
                        "weekend cutoffs before %(minimum)s. Set %(minimum)s or later."
                    )
                )
                self.add_error(field, message % params)
        return cleaned

    def days(self) -> dict[int, tuple[bool, dt.time | None]]:
        return {
            int(weekday): (self.cleaned_data[f"operated_{weekday}"], self.cleaned_data[f"cutoff_{weekday}"])
            for weekday in Weekday
        }


class CarrierServiceForm(forms.Form):
    """A carrier service: its name, a pickup time per weekday, and the states it reaches in
    one day and in two days from the seller's warehouse (SPEC section 1)."""

    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("As you know the service, e.g. UPS Ground."),
        error_messages=text_error_messages(_("Name")),
    )
    one_day_states = forms.MultipleChoiceField(
        label=_("States reached in one day"),
        choices=STATE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    two_day_states = forms.MultipleChoiceField(
        label=_("States reached in two days"),
        choices=STATE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, seller: Seller, carrier_service: CarrierService | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.seller = seller
        self.carrier_service = carrier_service
        pickups: dict[int, dt.time] = {}
        if carrier_service is not None:
            pickups = {pickup.weekday: pickup.pickup_time for pickup in carrier_service.pickups.all()}
            zones = list(carrier_service.zones.all())
            self.fields["name"].initial = carrier_service.name
            self.fields["one_day_states"].initial = [zone.state for zone in zones if zone.transit_days == 1]
            self.fields["two_day_states"].initial = [zone.state for zone in zones if zone.transit_days == 2]
        for weekday in Weekday:
            self.fields[f"pickup_{weekday}"] = forms.TimeField(
                label=weekday.label,
                required=False,
                initial=pickups.get(weekday),
                widget=_time_input(),
                error_messages={"invalid": _("Enter the pickup time as hours and minutes, e.g. 17:00.")},
            )

    def pickup_fields(self) -> Iterator[BoundField]:
        for weekday in Weekday:
            yield self[f"pickup_{weekday}"]

    def zone_fields(self) -> tuple[BoundField, BoundField]:
        return self["one_day_states"], self["two_day_states"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        others = CarrierService.objects.filter(seller=self.seller, name__iexact=name)
        if self.carrier_service is not None:
            others = others.exclude(pk=self.carrier_service.pk)
        if others.exists():
            raise forms.ValidationError(
                _("You already have a carrier service named %(name)s; choose another name or edit that one."),
                code="duplicate",
                params={"name": name},
            )
        return name

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns self.cleaned_data, typed as optional by django-stubs
        cleaned = self.cleaned_data
        both = sorted(set(cleaned.get("one_day_states", [])) & set(cleaned.get("two_day_states", [])))
        if both:
            self.add_error(
                "two_day_states",
                forms.ValidationError(
                    _(
                        "A state is reached in one day or in two, not both: %(states)s. "
                        "Untick each of them in one of the two lists."
                    ),
                    code="both_speeds",
                    params={"states": ", ".join(both)},
                ),
            )
        return cleaned

    def pickups(self) -> dict[int, dt.time | None]:
        return {int(weekday): self.cleaned_data[f"pickup_{weekday}"] for weekday in Weekday}


def pause_end_problem(until: dt.datetime, *, now: dt.datetime, zone) -> str | None:
    """What is wrong with ``until`` as the end of a pause starting ``now``, if anything: it must
    be in the future and at most ``PAUSE_MAX_AHEAD`` later (shown in ``zone``). The settings
    page and the admin both ask."""
    latest = now + PAUSE_MAX_AHEAD
    try:
        passed, too_far = until <= now, until > latest
    except OverflowError:
        # Within hours of year 1 or 9999 a wall-clock moment has no UTC equivalent to compare.
        passed, too_far = until.year < now.year, until.year > now.year
    if passed:
        return _("The pause must end in the future; %(moment)s has passed. Choose a later moment, or clear it.") % {
            "moment": formats.date_format(until, "Y-m-d H:i")
        }
    if too_far:
        return _(
            "Paused until: the end is at most a year ahead, %(latest)s. Choose an earlier end, or clear it "
            "to pause until you switch the badge back on."
        ) % {"latest": formats.date_format(latest.astimezone(zone), "Y-m-d H:i")}
    return None


class VolumeControlForm(forms.Form):
    """Pause the Prime badge (optionally until a moment in the seller's time zone) and cap
    the Prime orders a day (SPEC section 1)."""

    paused = forms.BooleanField(label=_("Pause the Prime badge"), required=False)
    paused_until = forms.DateTimeField(
        label=_("Paused until"),
        required=False,
        # A text box, as the cutoffs (see _time_input): a browser's datetime-local picker
        # shows 12-hour times on an English system, beside the 24-hour times the pages use.
        widget=forms.DateTimeInput(
            attrs={
                "class": "font-monospace",
                "inputmode": "numeric",
                "pattern": r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T]" + CLOCK_PATTERN,
                "placeholder": _("YYYY-MM-DD HH:MM"),
                "maxlength": 16,
                "autocomplete": "off",
                "title": _("A date and a 24-hour time, YYYY-MM-DD HH:MM, e.g. 2026-12-24 18:00"),
            },
            format="%Y-%m-%d %H:%M",
        ),
        error_messages={"invalid": _("Enter a date and time, e.g. 2026-12-24 18:00.")},
    )
    daily_cap = forms.IntegerField(
        label=_("Maximum Prime orders per day"),
        required=False,
        min_value=DAILY_CAP_MIN,
        max_value=DAILY_CAP_MAX,
        help_text=_("Empty: no cap. Orders beyond the cap on a day are not Prime orders and count nowhere."),
        error_messages={
            "invalid": _("Enter the cap as a whole number of orders, e.g. 200, or leave it empty for no cap."),
            "min_value": _(
                "A daily cap is at least 1 order. To take no Prime orders at all, pause the Prime badge instead; "
                "leave the cap empty for no cap."
            ),
            "max_value": _(
                "A daily cap is at most %(limit_value)s orders. Enter a smaller number, or leave it empty for no cap."
            ),
        },
    )

    def __init__(self, *args, seller: Seller, control: VolumeControlChange | None, now: dt.datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.seller = seller
        self.now = now
        paused = paused_by(control, now)
        self.fields["paused"].initial = paused
        self.fields["daily_cap"].initial = control.daily_cap if control else None
        if paused and control is not None and control.paused_until:
            # Shown as the seller's wall-clock time: the input has no time zone of its own.
            self.fields["paused_until"].initial = control.paused_until.astimezone(seller.zone).replace(tzinfo=None)
        self.fields["paused_until"].help_text = _(
            "In your time zone, %(zone)s. Empty: paused until you switch the badge back on."
        ) % {"zone": seller.timezone}

    def full_clean(self) -> None:
        # The end of a pause is typed as the seller's wall-clock time.
        with timezone.override(self.seller.zone):
            super().full_clean()

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns self.cleaned_data, typed as optional by django-stubs
        cleaned = self.cleaned_data
        paused, until = cleaned.get("paused"), cleaned.get("paused_until")
        if until is None:
            return cleaned
        if not paused:
            self.add_error(
                "paused_until",
                _("An end only applies to a pause. Tick 'Pause the Prime badge', or clear the end."),
            )
            return cleaned
        problem = pause_end_problem(until, now=self.now, zone=self.seller.zone)
        if problem:
            self.add_error("paused_until", problem)
        return cleaned


class ApiTokenForm(forms.Form):
    once = OnceField()
    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        help_text=_("What the token is for, e.g. 'Warehouse dashboard', so you know which one to revoke."),
        error_messages=text_error_messages(_("Token name")),
    )


class EmailPreferencesForm(forms.Form):
    """Which of the portal's optional emails the user wants (SPEC section 8); revocation
    and reinstatement are always sent and are not offered here."""

    wanted = forms.MultipleChoiceField(
        label=_("Emails you get"),
        choices=[(kind, EmailKind(kind).label) for kind in OPTIONAL_EMAILS],
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        error_messages={
            "invalid_choice": _("“%(value)s” is not one of the portal's emails; tick only the emails listed.")
        },
    )
