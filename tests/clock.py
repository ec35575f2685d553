"""The tests' clock (time-machine): time stands still at a moment for every reader, Django's
``timezone.now`` and ``localdate``, ``datetime.now``, ``date.today``, ``time.time``, and moves
only when the test moves it. The ``clock`` fixture (tests/conftest.py) holds one at ``NOW``
for a test; a module-wide setup enters its own (``with Clock(moment):``)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import time_machine
from django.conf import settings

# 07:00 on Saturday, Nov. 21 in Los Angeles (the portal's zone): the morning after D.
NOW = dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC)


def _in_portal_zone(moment: dt.datetime) -> dt.datetime:
    # time-machine sets the process's TZ to the destination's zone while it travels: the
    # portal's own zone keeps the process as Django set it up.
    return moment.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE))


class Clock:
    """Time frozen at ``moment`` while entered; ``move_to`` and ``shift`` move it."""

    def __init__(self, moment: dt.datetime = NOW) -> None:
        self._travel = time_machine.travel(_in_portal_zone(moment), tick=False)
        self._traveller: time_machine.Traveller | None = None

    def __enter__(self) -> Clock:
        self._traveller = self._travel.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._travel.stop()

    def move_to(self, moment: dt.datetime) -> None:
        self._traveller.move_to(_in_portal_zone(moment), tick=False)

    def shift(self, delta: dt.timedelta) -> None:
        self._traveller.shift(delta)


def portal_noon(day: dt.date) -> dt.datetime:
    """Noon of ``day`` in the portal's time zone: a moment whose ``timezone.localdate()`` is ``day``."""
    return dt.datetime.combine(day, dt.time(12), tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))
