"""The words of the metrics app's keys in the audit history (``sellers.audit``): a plan and
its status, a status change's reasons and evaluation day, a threshold change, an incident's
decision."""

from __future__ import annotations

import datetime as dt

from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from metrics.definitions import METRIC_DEFINITIONS
from metrics.models import Incident, PlanOfAction, ThresholdChange
from metrics.presenters.incidents import incident_label
from metrics.presenters.reasons import reason_sentence
from metrics.reasons import IncidentReason, PlanReason, Reason, reason_from_json
from sellers.audit import AUDIT_STATUSES, AuditKey, audit_key_order_register, audit_keys_register


def _reason_text(reason: Reason) -> str:
    if isinstance(reason, PlanReason):
        return _("Plan of action #%(plan)s approved.") % {"plan": reason.plan}
    if isinstance(reason, IncidentReason):
        return _("Incident #%(incident)s approved: it excused the defects the revocation was for.") % {
            "incident": reason.incident
        }
    return reason_sentence(reason)


def _reasons_text(value: object) -> str:
    items = value if isinstance(value, list) else []
    return " ".join(_reason_text(reason_from_json(item)) for item in items if isinstance(item, dict))


def _metric_text(value: object) -> str:
    return (
        str(METRIC_DEFINITIONS[value].label) if isinstance(value, str) and value in METRIC_DEFINITIONS else str(value)
    )


def _incident_kind_text(value: object) -> str:
    return str(Incident.Kind(value).label) if value in Incident.Kind.values else str(value)


def _date_text(value: object) -> str:
    """A local date kept as YYYY-MM-DD, as the pages write dates."""
    try:
        return date_format(dt.date.fromisoformat(str(value)), "DATE_FORMAT")
    except ValueError:
        return str(value)


def _metrics_text(value: object) -> str:
    return ", ".join(_metric_text(item) for item in value) if isinstance(value, list) else str(value)


def audit_words_register() -> None:
    AUDIT_STATUSES.extend([PlanOfAction.Status, Incident.Status])
    audit_keys_register(
        {
            "reasons": AuditKey(gettext_lazy("Why"), _reasons_text),
            "failing_items": AuditKey(gettext_lazy("Failing items"), _reasons_text),
            "plan": AuditKey(gettext_lazy("Plan of action"), lambda value: f"#{value}"),
            "reinstated_on": AuditKey(gettext_lazy("Evaluation start")),
            "day": AuditKey(gettext_lazy("Evaluation date")),
            "metric": AuditKey(gettext_lazy("Metric"), _metric_text),
            "threshold": AuditKey(gettext_lazy("Threshold")),
            "effective_from": AuditKey(capfirst(ThresholdChange._meta.get_field("effective_from").verbose_name)),
            "excused_metrics": AuditKey(gettext_lazy("Metrics it excuses"), _metrics_text),
        }
    )
    incident_noun = Incident._meta.verbose_name
    if incident_noun is None:
        raise TypeError("Incident has a verbose name.")
    # An incident as reported (``metrics.services.incident_audit_facts``); "carrier" and
    # "status" are worded already (the order's carrier, the statuses above).
    audit_keys_register(
        {
            "incident": AuditKey(capfirst(incident_noun), lambda value: f"#{value}"),
            "incident_kind": AuditKey(incident_label("kind"), _incident_kind_text),
            "start_date": AuditKey(incident_label("start_date"), _date_text),
            "end_date": AuditKey(incident_label("end_date"), _date_text),
            "description": AuditKey(incident_label("description")),
            "order_ids": AuditKey(incident_label("order_ids")),
        }
    )
    # An incident's entry reads as its report does: which one, its status, then its facts.
    audit_key_order_register(
        [
            "incident",
            "status",
            "incident_kind",
            "carrier",
            "start_date",
            "end_date",
            "description",
            "order_ids",
            "excused_metrics",
        ]
    )
