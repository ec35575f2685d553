"""The programme requirements checked from a seller's settings (SPEC section 2): one record
each, carrying everything about it (its minimum, its check, its label, the action that fixes
it, the settings page where that is done, whether it only warns), the way
``metrics.definitions`` gives each metric its record. The settings forms, the checks, the
dashboard, the settings pages, the review pages and the revocation reasons read the record
instead of restating it.

Each check is written twice, side by side, as the metric rules are: ``check`` in Python over
a seller's ``Requirements`` (the settings and review pages, the dashboard) and ``check_sql``
over the same facts as columns of ``sellers.sql.requirement_facts`` (the daily run judges
every seller of a chunk in one statement). ``tests/metrics/test_requirements_sql.py`` holds
the two halves against each other over random settings.

The facts a check judges are gathered for many sellers at once by one statement,
``sellers.sql.requirement_facts``, which ``sellers.selectors.requirements_for_sellers`` reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sellers.choices import CONTIGUOUS_REGIONS, WEEKDAYS, WEEKEND_DAYS, Weekday


@dataclass
class Requirements:
    """One seller's requirement checks, with the facts behind each."""

    passing: dict[str, bool] = field(default_factory=dict)
    covered_regions: int = 0
    one_day_regions: int = 0
    two_day_regions: int = 0
    # Per cutoff requirement, the operated days (0 = Monday) whose cutoff is before its minimum.
    early_cutoffs: dict[str, list[int]] = field(default_factory=dict)
    days_without_pickup: list[int] = field(default_factory=list)
    days_operated: frozenset[int] = frozenset()
    weekend_delivery: bool = False

    @property
    def failing(self) -> list[str]:
        """The failing requirements that revoke (SPEC section 2), warnings aside."""
        return [name for name, r in REQUIREMENTS.items() if not self.passing[name] and not r.warning_only]

    @property
    def warnings(self) -> list[str]:
        return [name for name, r in REQUIREMENTS.items() if not self.passing[name] and r.warning_only]


def clock(moment: dt.time) -> str:
    """A time of day as the settings pages and the programme write it, hours and minutes (HH:MM)."""
    return moment.strftime("%H:%M")


def _weekday_names(days: list[int]) -> str:
    return ", ".join(str(Weekday(day).label) for day in days)


@dataclass(frozen=True)
class Requirement:
    """One programme requirement of SPEC section 2."""

    name: str
    label: Promise
    # The action that fixes it (seeds/000's table of actions, in our words); a cutoff
    # requirement's names its minimum as ``%(minimum)s``.
    fix: Promise
    # The URL name of the settings page where the seller fixes it.
    settings_page: str
    check: Callable[[Requirements], bool]
    # The SQL half of ``check``: a boolean expression over the facts' columns, named as the
    # fields of ``Requirements`` (``{covered_regions}``, ``{days_operated}``,
    # ``{days_without_pickup}``, ``{weekend_delivery}``; ``{early_cutoffs}``: this cutoff
    # requirement's days) and the constants ``{contiguous_regions}`` (how many),
    # ``{weekdays}`` and ``{weekend_days}`` (arrays of weekday numbers).
    check_sql: str
    # A failing warning is shown but never revokes.
    warning_only: bool = False
    # Cutoff requirements: the earliest cutoff allowed on the operated days of ``weekdays``.
    minimum_cutoff: dt.time | None = None
    weekdays: frozenset[int] = frozenset()
    # The facts behind the verdict, in a sentence ("" when there is nothing to add).
    explain: Callable[[Requirement, Requirements], str] = lambda requirement, facts: ""

    @property
    def action(self) -> str:
        """The action that fixes it, in the active language."""
        if self.minimum_cutoff is None:
            return str(self.fix)
        return self.fix % {"minimum": clock(self.minimum_cutoff)}

    @property
    def cutoff(self) -> dt.time:
        """The minimum cutoff of a cutoff requirement (one of ``cutoff_requirements()``)."""
        if self.minimum_cutoff is None:
            raise TypeError(f"{self.name} is not a cutoff requirement: it has no minimum cutoff.")
        return self.minimum_cutoff

    def detail(self, facts: Requirements) -> str:
        return self.explain(self, facts)


def _early_cutoffs(requirement: Requirement, facts: Requirements) -> str:
    days = facts.early_cutoffs.get(requirement.name)
    if not days:
        return ""
    return _("Cutoff before %(minimum)s on: %(days)s.") % {
        "minimum": clock(requirement.cutoff),
        "days": _weekday_names(days),
    }


def _coverage(requirement: Requirement, facts: Requirements) -> str:
    return _("%(covered)s of %(total)s contiguous regions offer Prime.") % {
        "covered": facts.covered_regions,
        "total": len(CONTIGUOUS_REGIONS),
    }


def _days_without_pickup(requirement: Requirement, facts: Requirements) -> str:
    if not facts.days_without_pickup:
        return ""
    return _("No carrier pickup at or after the cutoff on: %(days)s.") % {
        "days": _weekday_names(facts.days_without_pickup)
    }


def _cutoff_requirement(
    name: str, label: Promise, minimum: dt.time, weekdays: Iterable[int], *, fix: Promise
) -> Requirement:
    """A cutoff requirement: every operated day of ``weekdays`` has an order cutoff at or
    after ``minimum`` (SPEC section 2)."""
    return Requirement(
        name=name,
        label=label,
        fix=fix,
        settings_page="sellers:fulfilment",
        check=lambda facts: not facts.early_cutoffs[name],
        check_sql="cardinality({early_cutoffs}) = 0",
        minimum_cutoff=minimum,
        weekdays=frozenset(weekdays),
        explain=_early_cutoffs,
    )


REQUIREMENTS: dict[str, Requirement] = {
    r.name: r
    for r in (
        Requirement(
            name="nationwide_coverage",
            label=gettext_lazy("Nationwide coverage"),
            fix=gettext_lazy(
                "Offer Prime in all 48 contiguous states and the District of Columbia in your Prime shipping template."
            ),
            settings_page="sellers:shipping_template",
            check=lambda facts: facts.covered_regions == len(CONTIGUOUS_REGIONS),
            check_sql="{covered_regions} = {contiguous_regions}",
            explain=_coverage,
        ),
        _cutoff_requirement(
            "weekday_cutoff", gettext_lazy("Weekday cutoff"), dt.time(14, 0), WEEKDAYS,
            fix=gettext_lazy("Set every operated weekday's order cutoff to %(minimum)s or later."),
        ),
        _cutoff_requirement(
            "weekend_cutoff", gettext_lazy("Weekend cutoff"), dt.time(10, 30), WEEKEND_DAYS,
            fix=gettext_lazy("Set the order cutoff of every operated Saturday or Sunday to %(minimum)s or later."),
        ),
        Requirement(
            name="weekend_operations",
            label=gettext_lazy("Weekend operations"),
            fix=gettext_lazy(
                "Operate Monday to Friday and at least one weekend day, so the Prime badge stays on at the weekend."
            ),
            settings_page="sellers:fulfilment",
            # Six-day operations: Monday to Friday, and Saturday or Sunday too.
            check=lambda facts: set(WEEKDAYS) <= facts.days_operated and bool(facts.days_operated & set(WEEKEND_DAYS)),
            check_sql="({days_operated} @> {weekdays} AND {days_operated} && {weekend_days})",
        ),
        Requirement(
            name="weekend_delivery",
            label=gettext_lazy("Weekend delivery"),
            fix=gettext_lazy("Turn on six-day delivery and use carrier services that pick up and deliver on Saturday."),
            settings_page="sellers:fulfilment",
            check=lambda facts: facts.weekend_delivery,
            check_sql="{weekend_delivery}",
        ),
        Requirement(
            name="carrier_pickups",
            label=gettext_lazy("Carrier pickups"),
            fix=gettext_lazy(
                "Make sure a carrier picks up at or after your cutoff on every operated day, or move the cutoff "
                "earlier."
            ),
            settings_page="sellers:carriers",
            check=lambda facts: not facts.days_without_pickup,
            check_sql="cardinality({days_without_pickup}) = 0",
            warning_only=True,
            explain=_days_without_pickup,
        ),
    )
}  # fmt: skip


def cutoff_requirements() -> tuple[Requirement, ...]:
    """The requirements that set a minimum cutoff: weekday and weekend."""
    return tuple(r for r in REQUIREMENTS.values() if r.minimum_cutoff is not None)


def cutoff_requirement(weekday: int) -> Requirement:
    """The cutoff requirement that governs an operated ``weekday`` (0 = Monday)."""
    return next(r for r in cutoff_requirements() if weekday in r.weekdays)


def minimum_cutoffs() -> dict[str, str]:
    """Each cutoff requirement's minimum as the pages write it, by requirement name."""
    return {r.name: clock(r.cutoff) for r in cutoff_requirements()}


def requirements_fixed_on(settings_page: str) -> tuple[str, ...]:
    """The requirements a settings page answers for, in the registry's order."""
    return tuple(name for name, r in REQUIREMENTS.items() if r.settings_page == settings_page)
