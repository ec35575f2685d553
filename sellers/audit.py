"""How an audit entry's before/after keys are worded: one registry the apps fill.

The audit history is the sellers app's (``AuditEntry``), but some of its entries hold another
app's facts (a plan's status, a revocation's reasons, a metric's threshold). Each app words
its own keys here, from its ``AppConfig.ready``, so sellers never imports the apps that
build on it to show its own history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import TextChoices
from django.utils.functional import Promise

from sellers.choices import ProgrammeStatus


@dataclass(frozen=True)
class AuditKey:
    """A key of an audit entry's before/after: its label and, when its value needs words
    (a code, a list of reasons), what turns the value into them (None: the value as is)."""

    label: str | Promise
    value_text: Callable[[object], str] | None = None


AUDIT_KEYS: dict[str, AuditKey] = {}
# Status values of every kind of status an entry can record (a programme status, a plan's).
AUDIT_STATUSES: list[type[TextChoices]] = [ProgrammeStatus]
# Keys an entry keeps for the code, not the reader (the status history's ``kind`` repeats
# its status change).
AUDIT_HIDDEN_KEYS: set[str] = {"kind"}


# Keys read in this order before the others (which follow as stored): an entry's JSON comes
# back from PostgreSQL with its keys by length, not as its app wrote them.
AUDIT_KEY_ORDER: list[str] = []


def audit_key_order_register(keys: list[str]) -> None:
    AUDIT_KEY_ORDER.extend(key for key in keys if key not in AUDIT_KEY_ORDER)


def audit_keys_register(keys: dict[str, AuditKey]) -> None:
    overlap = set(keys) & set(AUDIT_KEYS)
    if overlap:
        raise ValueError(f"Audit keys worded twice: {sorted(overlap)}")
    AUDIT_KEYS.update(keys)


def audit_status_label(value: str) -> str:
    for choices in AUDIT_STATUSES:
        if value in choices.values:
            return str(choices(value).label)
    return value
