"""Forms of the plan of action, of its review and of an incident's: they validate and convert, never act."""

from __future__ import annotations

from django import forms
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from metrics.definitions import METRIC_DEFINITIONS
from metrics.incidents import EXCUSABLE_METRICS, INCIDENT_NOTE_MAX
from portal.bounds import text_error_messages
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


class PlanDecisionForm(forms.Form):
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


class IncidentDecisionForm(forms.Form):
    """A reviewer's decision on an incident (SPEC section 7): approve for the metrics it
    excuses (at least one of ``EXCUSABLE_METRICS``), optionally reinstating the seller at
    once, or reject with a note. Validates and converts; the service decides whether a
    reinstatement holds."""

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
