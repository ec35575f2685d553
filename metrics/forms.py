"""Forms of the plan of action and of its review: they validate and convert, never act."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from sellers.models import Seller

# How much a reviewer needs to read to judge a plan: enough to name what went wrong, for
# which orders and why, and what changed. Shorter answers get an error saying so.
MIN_LENGTHS = {
    "root_cause": 80,
    "corrective_actions": 80,
    "preventive_measures": 60,
    "timeframe": 10,
}

HINTS = {
    "root_cause": _("Name what went wrong, for which orders, and why (e.g. which carrier, weekday or cutoff)."),
    "corrective_actions": _("Say what you have already changed to fix it, and when."),
    "preventive_measures": _("Say what you will do so that it does not happen again."),
    "timeframe": _("Say by when the actions take effect, e.g. 'since 2026-11-23; Saturday pickups from 2026-11-28'."),
}


class PlanOfActionForm(forms.Form):
    root_cause = forms.CharField(
        label=_("Root cause analysis"), widget=forms.Textarea(attrs={"rows": 5}), help_text=HINTS["root_cause"]
    )
    corrective_actions = forms.CharField(
        label=_("Corrective actions taken"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=HINTS["corrective_actions"],
    )
    preventive_measures = forms.CharField(
        label=_("Preventive measures"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=HINTS["preventive_measures"],
    )
    timeframe = forms.CharField(
        label=_("Timeframe"), widget=forms.Textarea(attrs={"rows": 2}), help_text=HINTS["timeframe"]
    )
    merchant_token = forms.CharField(
        label=_("Merchant token"),
        max_length=40,
        help_text=_("Type your merchant token to confirm the plan is for this account."),
    )

    def __init__(self, *args, seller: Seller, **kwargs):
        self.seller = seller
        super().__init__(*args, **kwargs)
        for name in MIN_LENGTHS:
            self.fields[name].error_messages["required"] = _("This answer is empty. %(hint)s") % {"hint": HINTS[name]}
        self.fields["merchant_token"].error_messages["required"] = _(
            "Type your merchant token, %(token)s, to confirm the plan."
        ) % {"token": seller.merchant_token}

    def clean(self):
        cleaned = super().clean()
        for name, minimum in MIN_LENGTHS.items():
            value = (cleaned.get(name) or "").strip()
            if value and len(value) < minimum:
                self.add_error(
                    name,
                    _("This answer is too short (%(length)s of at least %(minimum)s characters). %(hint)s")
                    % {"length": len(value), "minimum": minimum, "hint": HINTS[name]},
                )
        return cleaned

    def clean_merchant_token(self) -> str:
        token = self.cleaned_data["merchant_token"].strip().upper()
        if token != self.seller.merchant_token:
            raise forms.ValidationError(
                _("This is not your merchant token. Type %(token)s exactly as shown at the top of the page."),
                params={"token": self.seller.merchant_token},
            )
        return token

    def answers(self) -> dict[str, str]:
        return {name: self.cleaned_data[name].strip() for name in MIN_LENGTHS}


class PlanDraftForm(forms.Form):
    """The same answers, any length, for keeping a draft."""

    root_cause = forms.CharField(required=False, widget=forms.Textarea)
    corrective_actions = forms.CharField(required=False, widget=forms.Textarea)
    preventive_measures = forms.CharField(required=False, widget=forms.Textarea)
    timeframe = forms.CharField(required=False, widget=forms.Textarea)


class PlanDecisionForm(forms.Form):
    APPROVE = "approve"
    REJECT = "reject"

    decision = forms.ChoiceField(choices=[(APPROVE, _("Approve")), (REJECT, _("Reject"))], widget=forms.HiddenInput)
    feedback = forms.CharField(
        label=_("Feedback to the seller"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Required when rejecting: say what the plan misses, so the seller can submit a better one."),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == self.REJECT and not (cleaned.get("feedback") or "").strip():
            self.add_error(
                "feedback", _("Write the feedback the seller needs to improve the plan; a rejection requires it.")
            )
        return cleaned
