"""The import's local dates by the hour (``hour_local_date``) are ``local_date``'s, in every
zone a seller may choose, around every change of offset and anywhere else."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from hypothesis import given, settings
from hypothesis import strategies as st

from sellers.importing import hour_local_date
from sellers.models import local_date

ZONES = sorted(zoneinfo.available_timezones())
UTC = dt.UTC


def transitions(tz: zoneinfo.ZoneInfo, year: int) -> list[dt.datetime]:
    """The moments (to the minute) the zone's offset changes in ``year``, found day by day."""
    found = []
    day = dt.datetime(year, 1, 1, tzinfo=UTC)
    while day.year == year:
        following = day + dt.timedelta(days=1)
        if day.astimezone(tz).utcoffset() != following.astimezone(tz).utcoffset():
            low, high = day, following  # the offset changes in (low, high]
            while high - low > dt.timedelta(minutes=1):
                middle = low + (high - low) / 2
                middle = middle.replace(second=0, microsecond=0)
                if middle.astimezone(tz).utcoffset() == low.astimezone(tz).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high)
        day = following
    return found


def test_around_every_change_of_offset_of_every_zone_the_dates_are_local_dates():
    checked = 0
    for name in ZONES:
        tz = zoneinfo.ZoneInfo(name)
        for change in transitions(tz, 2026):
            for minutes in range(-90, 91, 7):
                for seconds in (0, 59):
                    moment = change + dt.timedelta(minutes=minutes, seconds=seconds, microseconds=-1 if seconds else 0)
                    assert hour_local_date(moment, tz) == local_date(moment, tz), (name, moment)
                    checked += 1
    assert checked > 10_000  # hundreds of zones change offset in 2026


@settings(max_examples=500)
@given(
    name=st.sampled_from(ZONES),
    moment=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 12, 31)),
    offset_minutes=st.sampled_from([None, -480, -90, 0, 330, 345]),
)
def test_any_moment_in_any_zone_has_its_local_date(name, moment, offset_minutes):
    """In UTC (the file's moments) or at another offset (which is converted as before)."""
    tz = zoneinfo.ZoneInfo(name)
    aware = moment.replace(tzinfo=UTC if offset_minutes is None else dt.timezone(dt.timedelta(minutes=offset_minutes)))
    assert hour_local_date(aware, tz) == local_date(aware, tz)


class MidHourChangeAtMidnight(dt.tzinfo):
    """A zone whose offset changes in the middle of a UTC hour at local midnight (-04:00 to
    -03:00 at 03:30 UTC on 1 March 2026): no zone does today, but one could."""

    CHANGE = dt.datetime(2026, 3, 1, 3, 30)

    def _offset(self, utc: dt.datetime) -> dt.timedelta:
        return dt.timedelta(hours=-4 if utc < self.CHANGE else -3)

    def utcoffset(self, moment):
        # Wall times are not asked for here; astimezone calls fromutc with the UTC moment.
        return self._offset(moment.replace(tzinfo=None) + dt.timedelta(hours=4))

    def dst(self, moment):
        return dt.timedelta(0)

    def fromutc(self, moment):
        return moment + self._offset(moment.replace(tzinfo=None))


def test_an_hour_in_which_the_offset_changes_is_converted_moment_by_moment():
    tz = MidHourChangeAtMidnight()
    for minute in range(0, 60, 5):
        moment = dt.datetime(2026, 3, 1, 3, minute, tzinfo=UTC)
        expected = dt.date(2026, 3, 1) if minute >= 30 else dt.date(2026, 2, 28)
        assert hour_local_date(moment, tz) == local_date(moment, tz) == expected, moment
