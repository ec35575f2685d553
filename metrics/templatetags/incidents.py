"""Template helpers of incidents: one-line filters over ``metrics.presenters.incidents``, so a
template (an email included) says an incident's facts in the language it is rendered in."""

from __future__ import annotations

import datetime as dt

from django import template

from metrics.models import Incident
from metrics.presenters import incidents
from sellers.models import Seller

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


@register.simple_tag
def incident_decision(incident: Incident, seller: Seller, day: dt.date | None) -> list[str]:
    return incidents.incident_decision_sentences(incident, seller=seller, day=day)


@register.filter
def incident_dates(incident: Incident) -> str:
    return incidents.dates_text(incident.start_date, incident.end_date)
