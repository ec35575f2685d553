"""Forms of the plan of action and of its review, and of an incident's report and decision: they
validate and convert, never act."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django import forms
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from metrics.definitions import METRIC_DEFINITIONS
from metrics.incidents import (
    EXCUSABLE_METRICS,
    INCIDENT_DESCRIPTION_MAX,
    INCIDENT_DESCRIPTION_MIN,
    INCIDENT_MAX_AGE_DAYS,
    INCIDENT_MAX_DAYS,
    INCIDENT_MAX_OPEN,
    INCIDENT_MAX_ORDERS,
    INCIDENT_NOTE_MAX,
    IncidentScope,
    open_incidents_full_sentence,
)
from metrics.models import Incident
from metrics.presenters.incidents import incident_label
from metrics.selectors import seller_incident_carriers, seller_open_incident_count, seller_order_ids_found
from portal.bounds import excerpt, is_storable_text, text_error_messages
from portal.once import OnceField
from sellers.importing import CARRIER_MAX, ORDER_ID_MAX
from sellers.models import Seller

# How much a reviewer needs to read to judge a plan: enough to name what went wrong, for
# which orders and why, and what changed. Shorter answers get an error saying so.
MIN_LENGTHS = {
    "root_cause": 80,
    "corrective_actions": 80,
    "preventive_measures": 60,
    "timeframe": 10,
}

# The most an answer (or the reviewer's feedback) may hold: a page and more, far beyond what
# a reviewer reads, so only a pasted file or a runaway script meets it.
ANSWER_MAX_LENGTH = 5000

HINTS = {
    "root_cause": _("Name what went wrong, for which orders, and why (e.g. which carrier, weekday or cutoff)."),
    "corrective_actions": _("Say what you have already changed to fix it, and when."),
    "preventive_measures": _("Say what you will do so that it does not happen again."),
    "timeframe": _("Say by when the actions take effect, e.g. 'since 2026-11-23; Saturday pickups from 2026-11-28'."),
}


LABELS = {
    "root_cause": _("Root cause analysis"),
    "corrective_actions": _("Corrective actions taken"),
    "preventive_measures": _("Preventive measures"),
    "timeframe": _("Timeframe"),
}


def _minimum_sentence(minimum: int) -> str:
    return gettext("At least %(minimum)s characters.") % {"minimum": minimum}


minimum_sentence = lazy(_minimum_sentence, str)


def _answer_field(name: str, rows: int) -> forms.CharField:
    """An answer with its hint and its minimum length up front (help text, and a live count
    by static/js/poa-count.js from ``data-min-length``), so the errors need not repeat them."""
    return forms.CharField(
        label=LABELS[name],
        max_length=ANSWER_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": rows, "data-min-length": MIN_LENGTHS[name]}),
        help_text=format_lazy("{} {}", HINTS[name], minimum_sentence(MIN_LENGTHS[name])),
        error_messages=text_error_messages(LABELS[name]),
    )


class PlanOfActionForm(forms.Form):
    """The plan as submitted: every answer long enough to judge, and the seller's merchant token."""

    # A draft keeps what has been written so far: no answer is required, none too short,
    # and the token is not asked for; the bounds on every answer still hold.
    draft = False

    root_cause = _answer_field("root_cause", 5)
    corrective_actions = _answer_field("corrective_actions", 4)
    preventive_measures = _answer_field("preventive_measures", 4)
    timeframe = _answer_field("timeframe", 2)
    merchant_token = forms.CharField(
        label=_("Merchant token"),
        max_length=40,
        help_text=_("Type your merchant token to confirm the plan is for this account."),
        error_messages=text_error_messages(_("Merchant token")),
    )

    def __init__(self, *args, seller: Seller, **kwargs):
        self.seller = seller
        super().__init__(*args, **kwargs)
        if self.draft:
            for field in self.fields.values():
                field.required = False
            return
        # The hint and the minimum stand under each field already (help text): an error
        # says only what is wrong, so an empty form does not repeat every hint twice.
        for name, minimum in MIN_LENGTHS.items():
            self.fields[name].error_messages["required"] = _(
                "This answer is empty. Write at least %(minimum)s characters."
            ) % {"minimum": minimum}
        self.fields["merchant_token"].error_messages["required"] = _(
            "Type your merchant token, %(token)s, to confirm the plan."
        ) % {"token": seller.merchant_token}

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if self.draft:
            return cleaned
        for name, minimum in MIN_LENGTHS.items():
            value = (cleaned.get(name) or "").strip()
            if value and len(value) < minimum:
                self.add_error(
                    name,
                    _("This answer is too short (%(length)s of at least %(minimum)s characters).")
                    % {"length": len(value), "minimum": minimum},
                )
        return cleaned

    def clean_merchant_token(self) -> str:
        token = self.cleaned_data["merchant_token"].strip().upper()
        if not self.draft and token != self.seller.merchant_token:
            raise forms.ValidationError(
                _("This is not your merchant token. Type %(token)s exactly as shown at the top of the page."),
                params={"token": self.seller.merchant_token},
            )
        return token

    def answers(self) -> dict[str, str]:
        return {name: self.cleaned_data[name].strip() for name in MIN_LENGTHS}


class PlanDraftForm(PlanOfActionForm):
    """The same answers, any length up to the bound, none required, for keeping a draft."""

    draft = True


class DecisionForm(forms.Form):
    """A reviewer's Approve or Reject, the button pressed (a plan's, an incident's)."""

    APPROVE = "approve"
    REJECT = "reject"

    decision = forms.ChoiceField(
        choices=[(APPROVE, _("Approve")), (REJECT, _("Reject"))],
        widget=forms.HiddenInput,
        error_messages={
            "required": _("Decision: choose Approve or Reject."),
            "invalid_choice": _("Decision: choose Approve or Reject."),
        },
    )


class PlanDecisionForm(DecisionForm):
    feedback = forms.CharField(
        label=_("Feedback to the seller"),
        required=False,
        max_length=ANSWER_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Required when rejecting: say what the plan misses, so the seller can submit a better one."),
        error_messages=text_error_messages(_("Feedback to the seller")),
    )

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("decision") == self.REJECT and not (cleaned.get("feedback") or "").strip():
            self.add_error(
                "feedback", _("Write the feedback the seller needs to improve the plan; a rejection requires it.")
            )
        return cleaned


# ---------------------------------------------------------------------------------------
# Incidents (SPEC section 7): one validation for the report page and POST /api/incidents/
# ---------------------------------------------------------------------------------------

# How many names a message lists at most (carrier services, unknown order ids): enough to
# see what is meant, never a page of them.
LISTED_AT_MOST = 20


def names_listed(names: list[str]) -> str:
    """Names for a message, each cut to an excerpt, at most ``LISTED_AT_MOST`` of them."""
    shown = ", ".join(excerpt(name) for name in names[:LISTED_AT_MOST])
    if len(names) > LISTED_AT_MOST:
        return gettext("%(names)s and %(count)s more") % {"names": shown, "count": len(names) - LISTED_AT_MOST}
    return shown


def _text_only(field: forms.Field, value: object) -> None:
    """JSON gives numbers, lists, objects and booleans where text belongs, and strings with a
    lone UTF-16 surrogate that cannot be stored: refused with a sentence naming the field,
    never turned into text (nor a crash)."""
    if value is not None and not isinstance(value, str):
        raise forms.ValidationError(field.error_messages["not_text"], code="not_text")
    if isinstance(value, str) and not is_storable_text(value):
        raise forms.ValidationError(_surrogate_message(field.label), code="not_text")


def _not_text_message(label):
    return format_lazy(_("{field}: write it as text (a JSON string), not a number, list or object."), field=label)


def _surrogate_message(label):
    return format_lazy(
        _("{field}: contains a lone UTF-16 surrogate (U+D800 to U+DFFF), which is not text. Remove it."),
        field=label,
    )


class _IncidentTextField(forms.CharField):
    def to_python(self, value):
        _text_only(self, value)
        return super().to_python(value)


class _IncidentChoiceField(forms.ChoiceField):
    def to_python(self, value):
        _text_only(self, value)
        return super().to_python(value)


class _IncidentDateField(forms.DateField):
    """A local date written YYYY-MM-DD (the API's form and the date input's)."""

    def __init__(self, **kwargs):
        label = kwargs["label"]
        super().__init__(
            input_formats=["%Y-%m-%d"],
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            error_messages={
                "required": format_lazy(_("{field}: enter a date as YYYY-MM-DD."), field=label),
                "invalid": format_lazy(_("{field}: write the date as YYYY-MM-DD, e.g. 2026-11-14."), field=label),
                "not_text": _not_text_message(label),
            },
            **kwargs,
        )

    def to_python(self, value):
        _text_only(self, value)
        return super().to_python(value)


class OrderIdsField(forms.Field):
    """The order ids an incident names: a list (the page's ticked boxes, the API's JSON
    array) of at most ``INCIDENT_MAX_ORDERS`` ids of 1 to ``ORDER_ID_MAX`` characters, each
    once. Whether they are the seller's orders is the form's to check."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[str]:
        label = self.label
        if value in (None, "", [], ()):
            return []
        if not isinstance(value, list | tuple):
            raise forms.ValidationError(
                _('%(field)s: give a list of order ids, e.g. ["113-0000001-0000001"].') % {"field": label}
            )
        if len(value) > INCIDENT_MAX_ORDERS:
            raise forms.ValidationError(
                _(
                    "%(field)s: at most %(maximum)s orders, this lists %(count)s. Pick fewer, or none to cover every "
                    "order of the carrier service and dates."
                )
                % {"field": label, "maximum": INCIDENT_MAX_ORDERS, "count": len(value)}
            )
        problems, order_ids = [], []
        for index, item in enumerate(value, start=1):
            if not isinstance(item, str) or not is_storable_text(item) or "\x00" in item:
                # No order id holds a NUL or a lone surrogate: neither can be stored.
                problems.append(
                    _("%(field)s: item %(index)s is not an order id (text).") % {"field": label, "index": index}
                )
            elif not item.strip():
                problems.append(_("%(field)s: item %(index)s is empty.") % {"field": label, "index": index})
            elif len(item.strip()) > ORDER_ID_MAX:
                problems.append(
                    _("%(field)s: item %(index)s has more than %(maximum)s characters, which no order id has.")
                    % {"field": label, "index": index, "maximum": ORDER_ID_MAX}
                )
            else:
                order_ids.append(item.strip())
        repeated = [order_id for order_id, count in Counter(order_ids).items() if count > 1]
        if repeated:
            problems.append(
                _("%(field)s: %(ids)s listed more than once; list each order once.")
                % {"field": label, "ids": names_listed(repeated)}
            )
        if problems:
            raise forms.ValidationError(problems[:LISTED_AT_MOST])
        return order_ids


class IncidentForm(forms.Form):
    """An incident as a seller reports it (SPEC section 7), from the page or the API: what
    kind, which carrier service (or all), which local dates (at most ``INCIDENT_MAX_DAYS``,
    not in the future, starting at most ``INCIDENT_MAX_AGE_DAYS`` before the seller's
    ``today``), what happened, and optionally the seller's orders it concerns; and no more
    than ``INCIDENT_MAX_OPEN`` incidents waiting for a decision. Validates and converts only;
    ``incident_submit`` acts."""

    once = OnceField()
    kind = _IncidentChoiceField(label=incident_label("kind"), choices=Incident.Kind.choices, widget=forms.RadioSelect)
    carrier = _IncidentTextField(
        label=incident_label("carrier"),
        required=False,
        max_length=CARRIER_MAX,
        widget=forms.Select,
        help_text=_("The carrier service as in your orders, or all of them."),
    )
    start_date = _IncidentDateField(label=incident_label("start_date"))
    end_date = _IncidentDateField(label=incident_label("end_date"))
    description = _IncidentTextField(
        label=incident_label("description"),
        max_length=INCIDENT_DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    order_ids = OrderIdsField(label=incident_label("order_ids"), required=False)

    def __init__(self, *args, seller: Seller, today: dt.date, **kwargs):
        self.seller = seller
        self.today = today
        super().__init__(*args, **kwargs)
        self.carriers = seller_incident_carriers(seller=seller, today=today)
        fields = self.fields
        # Messages with numbers are written when the form is made, in the language of the request.
        # Each kind as the API writes it and as the page shows it.
        kinds = ", ".join(f"{kind.value} ({kind.label})" for kind in Incident.Kind)
        fields["kind"].error_messages.update(
            required=_("%(field)s: choose one of %(kinds)s.") % {"field": fields["kind"].label, "kinds": kinds},
            invalid_choice=_("%(field)s: choose one of %(kinds)s.") % {"field": fields["kind"].label, "kinds": kinds},
            not_text=_not_text_message(fields["kind"].label),
        )
        for name in ("carrier", "description"):
            fields[name].error_messages.update(text_error_messages(fields[name].label))
            fields[name].error_messages["not_text"] = _not_text_message(fields[name].label)
        fields["description"].error_messages["required"] = _(
            "%(field)s: describe the incident in at least %(minimum)s characters."
        ) % {"field": fields["description"].label, "minimum": INCIDENT_DESCRIPTION_MIN}
        fields["description"].help_text = _(
            "Say what happened, to which carrier service or system, and how it delayed or cancelled orders "
            "(%(minimum)s to %(maximum)s characters)."
        ) % {"minimum": INCIDENT_DESCRIPTION_MIN, "maximum": INCIDENT_DESCRIPTION_MAX}
        fields["start_date"].help_text = _(
            "Local dates in your time zone: at most %(days)s days, from %(earliest)s to today (%(today)s)."
        ) % {
            "days": INCIDENT_MAX_DAYS,
            "earliest": self.earliest.isoformat(),
            "today": today.isoformat(),
        }
        fields["carrier"].widget = forms.Select(
            choices=[("", _("All carrier services")), *((name, name) for name in self.carriers)]
        )

    @property
    def earliest(self) -> dt.date:
        """The earliest first day a report may name today."""
        return self.today - dt.timedelta(days=INCIDENT_MAX_AGE_DAYS)

    def clean_carrier(self) -> str:
        carrier = self.cleaned_data["carrier"]
        if not carrier or carrier in self.carriers:
            return carrier
        by_folded = {name.casefold(): name for name in self.carriers}
        if carrier.casefold() in by_folded:
            return by_folded[carrier.casefold()]
        label = self.fields["carrier"].label
        if not self.carriers:
            raise forms.ValidationError(
                _("%(field)s: “%(carrier)s” is not one of yours; leave it empty for all carrier services.")
                % {"field": label, "carrier": excerpt(carrier)}
            )
        raise forms.ValidationError(
            _(
                "%(field)s: “%(carrier)s” is not one of yours. Choose one of %(carriers)s, or leave it empty for all "
                "carrier services."
            )
            % {"field": label, "carrier": excerpt(carrier), "carriers": names_listed(self.carriers)}
        )

    def clean_start_date(self) -> dt.date:
        start = self.cleaned_data["start_date"]
        label = self.fields["start_date"].label
        if start < self.earliest:
            raise forms.ValidationError(
                _(
                    "%(field)s: %(day)s is more than %(days)s days ago; an incident is reported within %(days)s days. "
                    "Choose %(earliest)s or later."
                )
                % {
                    "field": label,
                    "day": start.isoformat(),
                    "days": INCIDENT_MAX_AGE_DAYS,
                    "earliest": self.earliest.isoformat(),
                }
            )
        if start > self.today:
            raise forms.ValidationError(self._future_sentence(label, start))
        return start

    def clean_end_date(self) -> dt.date:
        end = self.cleaned_data["end_date"]
        if end > self.today:
            raise forms.ValidationError(self._future_sentence(self.fields["end_date"].label, end))
        return end

    def _future_sentence(self, label, day: dt.date) -> str:
        return _(
            "%(field)s: %(day)s is in the future; report an incident once it has happened, up to today (%(today)s)."
        ) % {"field": label, "day": day.isoformat(), "today": self.today.isoformat()}

    def clean_description(self) -> str:
        description = self.cleaned_data["description"]
        if len(description) < INCIDENT_DESCRIPTION_MIN:
            raise forms.ValidationError(
                _("%(field)s: at least %(minimum)s characters, this has %(length)s. Say what happened, and when.")
                % {
                    "field": self.fields["description"].label,
                    "minimum": INCIDENT_DESCRIPTION_MIN,
                    "length": len(description),
                }
            )
        return description

    def clean_order_ids(self) -> list[str]:
        order_ids = self.cleaned_data["order_ids"]
        if not order_ids:
            return []
        found = seller_order_ids_found(seller=self.seller, order_ids=order_ids)
        # The same sentence whether an id is nobody's or another seller's: never confirmed.
        unknown = [order_id for order_id in order_ids if order_id not in found]
        if unknown:
            raise forms.ValidationError(
                _("%(field)s: %(ids)s are not orders of yours. Check them against your defect report.")
                % {"field": self.fields["order_ids"].label, "ids": names_listed(unknown)}
            )
        return order_ids

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start is not None and end is not None:
            label = self.fields["end_date"].label
            if end < start:
                self.add_error(
                    "end_date",
                    _("%(field)s: %(end)s is before the first day, %(start)s. Choose %(start)s or a later day.")
                    % {"field": label, "end": end.isoformat(), "start": start.isoformat()},
                )
            elif (end - start).days + 1 > INCIDENT_MAX_DAYS:
                latest = start + dt.timedelta(days=INCIDENT_MAX_DAYS - 1)
                self.add_error(
                    "end_date",
                    _(
                        "%(field)s: from %(start)s to %(end)s is %(count)s days; an incident covers at most %(days)s. "
                        "Choose %(latest)s or an earlier last day."
                    )
                    % {
                        "field": label,
                        "start": start.isoformat(),
                        "end": end.isoformat(),
                        "count": (end - start).days + 1,
                        "days": INCIDENT_MAX_DAYS,
                        "latest": latest.isoformat(),
                    },
                )
        if seller_open_incident_count(seller=self.seller) >= INCIDENT_MAX_OPEN:
            raise forms.ValidationError(open_incidents_full_sentence())
        return cleaned

    def scope(self) -> IncidentScope:
        """What the valid report covers (``metrics.incidents.IncidentScope``)."""
        cleaned = self.cleaned_data
        return IncidentScope(
            cleaned["carrier"], cleaned["start_date"], cleaned["end_date"], tuple(cleaned["order_ids"])
        )


class IncidentDecisionForm(DecisionForm):
    """A reviewer's decision on an incident (SPEC section 7): approve for the metrics it
    excuses (at least one of ``EXCUSABLE_METRICS``), optionally reinstating the seller at
    once, or reject with a note. Validates and converts; the service decides whether a
    reinstatement holds."""

    metrics = forms.MultipleChoiceField(
        label=_("Metrics it excuses"),
        required=False,
        choices=[(name, METRIC_DEFINITIONS[name].label) for name in EXCUSABLE_METRICS],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Preselected by the kind of incident. Its covered orders' defects of these metrics are excused."),
        error_messages={
            # Not quoted back: a value of any length may be sent.
            "invalid_choice": _("Metrics it excuses: tick only the boxes shown; an incident excuses no other metric.")
        },
    )
    note = forms.CharField(
        label=_("Note to the seller"),
        required=False,
        max_length=INCIDENT_NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Optional when approving; required when rejecting: say why, so the seller understands."),
        error_messages=text_error_messages(_("Note to the seller")),
    )
    reinstate = forms.BooleanField(label=_("Reinstate the seller now"), required=False)

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        decision = cleaned.get("decision")
        if decision == self.APPROVE and "metrics" in cleaned and not cleaned["metrics"]:
            self.add_error(
                "metrics", _("Metrics it excuses: tick at least one; an approval without one excuses nothing.")
            )
        if decision == self.REJECT:
            if not (cleaned.get("note") or "").strip() and "note" not in self.errors:
                self.add_error(
                    "note", _("Note to the seller: say why the incident is rejected; a rejection requires it.")
                )
            if cleaned.get("reinstate"):
                self.add_error(
                    "reinstate", _("A rejected incident reinstates nobody: untick “Reinstate the seller now”.")
                )
        return cleaned
