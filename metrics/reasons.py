"""Why a seller's status changed, as typed records (SPEC section 4): a revocation's reasons
(a failing metric of a window, or a failing programme requirement) and a reinstatement's
(the plan of action approved). A plan of action copies its revocation's reasons as its
failing items.

They are stored as JSON, in the status history's ``reasons``, the audit entries and the
plans' ``failing_items``, in the format they always had (``{"kind": "metric", ...}``), so
records written before these types read the same: ``to_json`` writes that format and
``reason_from_json`` reads it back. Their sentences are ``metrics.presenters.reasons``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Self

# The window a metric reason recorded without one is read as (none is written so).
_DEFAULT_WINDOW = 30


@dataclass(frozen=True, kw_only=True)
class _StoredReason:
    """A reason stored as ``{"kind": ..., <its fields>}``."""

    kind: ClassVar[str]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """The record of a stored reason; a field it lacks takes its default."""
        return cls(**{field.name: data[field.name] for field in fields(cls) if field.name in data})


@dataclass(frozen=True, kw_only=True)
class MetricReason(_StoredReason):
    """A metric failing in one window on D: which, its figures and the threshold it missed."""

    kind: ClassVar[str] = "metric"
    metric: str
    window_days: int = _DEFAULT_WINDOW
    rate: float | None = None  # the rate shown, every defect counted (a float, for the record)
    # The rate judged, protected and excused units not counted (None: the same).
    eligibility_rate: float | None = None
    threshold: str  # exactly, as a decimal string
    population_units: int
    defect_units: int
    protected_units: int = 0
    # Defect units approved incidents excused (SPEC section 7): stored only when some were,
    # so a reason without them keeps the format it always had.
    excused_units: int = 0

    def to_json(self) -> dict[str, Any]:
        stored = super().to_json()
        if not self.excused_units:
            del stored["excused_units"]
        return stored


@dataclass(frozen=True, kw_only=True)
class RequirementReason(_StoredReason):
    """A programme requirement (SPEC section 2) the seller's settings did not meet."""

    kind: ClassVar[str] = "requirement"
    requirement: str


@dataclass(frozen=True, kw_only=True)
class PlanReason(_StoredReason):
    """A reinstatement's reason: the plan of action staff approved."""

    kind: ClassVar[str] = "plan"
    plan: int


@dataclass(frozen=True, kw_only=True)
class IncidentReason(_StoredReason):
    """A reinstatement's reason: an approved incident excused the very defects the seller was
    revoked for (SPEC section 7), and its reviewer reinstated the seller at once."""

    kind: ClassVar[str] = "incident"
    incident: int


# What a revocation is for, and so what a plan of action answers for.
RevocationReason = MetricReason | RequirementReason
# What a reinstatement is for: the plan of action or the incident staff approved.
ReinstatementReason = PlanReason | IncidentReason
Reason = MetricReason | RequirementReason | PlanReason | IncidentReason

_KINDS: dict[str, type[Reason]] = {
    kind.kind: kind for kind in (MetricReason, RequirementReason, PlanReason, IncidentReason)
}


def reason_from_json(data: Mapping[str, Any]) -> Reason:
    """A stored reason as its record; one without a ``kind`` is a metric's."""
    return _KINDS[data.get("kind", MetricReason.kind)].from_json(data)


def reasons_from_json(items: Iterable[Mapping[str, Any]]) -> list[Reason]:
    return [reason_from_json(item) for item in items]


def revocation_reasons_from_json(items: Iterable[Mapping[str, Any]]) -> list[RevocationReason]:
    """A revocation's stored reasons, or a plan's failing items, as their records; a
    reinstatement's reason (a plan's or an incident's) is never one of them."""
    reasons: list[RevocationReason] = []
    for reason in reasons_from_json(items):
        if isinstance(reason, PlanReason | IncidentReason):
            raise ValueError(f"A reinstatement's reason ({reason.to_json()}) is not a revocation's.")
        reasons.append(reason)
    return reasons


def reasons_to_json(reasons: Iterable[Reason]) -> list[dict[str, Any]]:
    return [reason.to_json() for reason in reasons]
