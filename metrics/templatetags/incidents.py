"""Template helpers of incidents: one-line filters over ``metrics.presenters.incidents``, so a
template (an email included) says an incident's facts in the language it is rendered in."""

from __future__ import annotations

from django import template

from metrics.models import Incident
from metrics.presenters import incidents

register = template.Library()


@register.filter
def incident_facts(incident: Incident) -> list[tuple[str, str]]:
    return incidents.incident_facts(incident)


@register.filter
def incident_status_colour(incident: Incident) -> str:
    return incidents.STATUS_COLOURS[Incident.Status(incident.status)]


@register.filter
def carrier_text(carrier: str) -> str:
    return incidents.carrier_text(carrier)
