"""Template helpers of the settings pages: one-line tags over plain functions."""

from __future__ import annotations

import datetime as dt

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Field
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sellers.audit import AUDIT_HIDDEN_KEYS, AUDIT_KEY_ORDER, AUDIT_KEYS, audit_status_label
from sellers.choices import STATE_NAMES, Speed, Weekday
from sellers.models import AuditEntry, Order, Seller

register = template.Library()

FIELD_LABELS = {
    "region_automation": gettext_lazy("Region automation"),
    "weekend_delivery": gettext_lazy("Six-day delivery"),
    "name": gettext_lazy("Name"),
    "one_day_states": gettext_lazy("States reached in one day"),
    "two_day_states": gettext_lazy("States reached in two days"),
    "daily_cap": gettext_lazy("Maximum Prime orders per day"),
    "paused": gettext_lazy("Prime badge paused"),
    "paused_until": gettext_lazy("Paused until"),
    "effective_at": gettext_lazy("Effective from"),
    "prefix": gettext_lazy("Prefix"),
    "revoked_at": gettext_lazy("Revoked at"),
    "status": gettext_lazy("Status"),
}
DAY_FIELD_LABELS = {
    "operated": gettext_lazy("operated"),
    "cutoff": gettext_lazy("order cutoff"),
    "pickup": gettext_lazy("pickup"),
}
MOMENT_FIELDS = frozenset(
    {"paused_until", "effective_at", "revoked_at", *(moment for moment, _date in Order.LOCAL_DATE_FIELDS)}
)
# Keys without a label above are the fields of these models (an order's facts, a time zone).
LABELLED_MODELS = (Order, Seller)


def _model_field_label(key: str) -> str | None:
    for model in LABELLED_MODELS:
        try:
            field = model._meta.get_field(key)
        except FieldDoesNotExist:
            continue
        if isinstance(field, Field):  # not the other side of a relation, which has no name of its own
            return str(capfirst(field.verbose_name))
    return None


def audit_field_label(key: str) -> str:
    """The words for a key of an audit entry's before/after, in the reader's language."""
    if key in STATE_NAMES:
        return f"{STATE_NAMES[key]} ({key})"
    day, _sep, field = key.partition("_")
    if day.upper() in Weekday.names and field in DAY_FIELD_LABELS:
        return f"{Weekday[day.upper()].label}: {DAY_FIELD_LABELS[field]}"
    if key in FIELD_LABELS:
        return str(FIELD_LABELS[key])
    if key in AUDIT_KEYS:
        return str(AUDIT_KEYS[key].label)
    return _model_field_label(key) or key


def audit_value_text(key: str, value: object) -> str:
    if value is None or value == [] or value == "":
        return "—"
    worded = AUDIT_KEYS[key].value_text if key in AUDIT_KEYS else None
    if worded is not None:
        return worded(value)
    if key == "status" and isinstance(value, str):
        return audit_status_label(value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if key in STATE_NAMES and value in Speed.values:
        return str(Speed(value).label)
    if key in MOMENT_FIELDS and isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        return formats.date_format(timezone.localtime(moment), "Y-m-d H:i T")
    return str(value)


def audit_change_rows(before: dict | None, after: dict | None) -> list[tuple[str, str, str]]:
    """(what, before, after) per changed key. Lists of states show what was removed and
    added rather than all 49 states twice."""
    before, after = before or {}, after or {}
    rows = []
    keys = list(dict.fromkeys([*before, *after]))
    ordered = {key: index for index, key in enumerate(AUDIT_KEY_ORDER)}
    for key in sorted(keys, key=lambda key: ordered.get(key, len(ordered))):
        if key in AUDIT_HIDDEN_KEYS:
            continue
        old, new = before.get(key), after.get(key)
        if before and after and isinstance(old, list) and isinstance(new, list):
            removed, added = sorted(set(old) - set(new)), sorted(set(new) - set(old))
            old_text = _("removed: %(items)s") % {"items": ", ".join(removed)} if removed else ""
            new_text = _("added: %(items)s") % {"items": ", ".join(added)} if added else ""
            rows.append((audit_field_label(key), old_text, new_text))
            continue
        rows.append((audit_field_label(key), audit_value_text(key, old), audit_value_text(key, new)))
    return rows


@register.filter
def audit_changes(entry: AuditEntry) -> list[tuple[str, str, str]]:
    return audit_change_rows(entry.before, entry.after)


@register.filter
def lookup(mapping: dict, key: object) -> object:
    return mapping.get(key)


@register.filter
def lookup_weekday(weekday: int) -> str:
    return str(Weekday(weekday).label)


@register.filter
def zones_in_days(zones, transit_days: int) -> int:
    """How many of a carrier service's (prefetched) zones it reaches in ``transit_days``."""
    return sum(1 for zone in zones if zone.transit_days == transit_days)
