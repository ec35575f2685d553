"""What the pages say about a seller's settings: the programme requirement checks (SPEC
section 2) as the settings pages, the dashboard and the review pages show them, from the
records of ``sellers.requirements``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext as _

from sellers.requirements import REQUIREMENTS, Requirements


@dataclass(frozen=True)
class RequirementCheck:
    """One requirement of one seller as a page shows it."""

    name: str
    label: str
    passing: bool
    warning: bool  # failing, but only a warning: it never revokes
    action: str  # what fixes it
    settings_url: str  # the settings page where that is done
    detail: str  # the facts behind the verdict, or ""


def requirement_checks(requirements: Requirements, names: Iterable[str] = REQUIREMENTS) -> list[RequirementCheck]:
    """The checks ``names`` (all, in the registry's order, by default) of one seller."""
    checks = []
    for name in names:
        requirement = REQUIREMENTS[name]
        passing = requirements.passing[name]
        checks.append(
            RequirementCheck(
                name=name,
                label=str(requirement.label),
                passing=passing,
                warning=requirement.warning_only and not passing,
                action=requirement.action,
                settings_url=reverse(requirement.settings_page),
                detail=requirement.detail(requirements),
            )
        )
    return checks


def requirement_unmet_sentence(name: str) -> str:
    """A requirement that is not met, and the action that fixes it, as one sentence."""
    requirement = REQUIREMENTS.get(name)
    return _("%(check)s requirement is not met. %(action)s") % {
        "check": requirement.label if requirement else name,
        "action": requirement.action if requirement else "",
    }
