"""Writes for sellers, their settings and their orders."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Collection, Iterable, Mapping

from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal.routers import replica_mark_written
from sellers import sql as statements
from sellers.auth import api_token_generate
from sellers.choices import CONTIGUOUS_REGIONS, OPTIONAL_EMAILS, STATE_NAMES, STATES, Speed, Weekday
from sellers.models import (
    ApiToken,
    AuditEntry,
    CarrierPickup,
    CarrierService,
    CarrierZone,
    OperatingDay,
    Order,
    PrimeRegion,
    Seller,
    SellerEvent,
    User,
    VolumeControlChange,
    paused_by,
)
from sellers.requirements import cutoff_requirement
from sellers.selectors import prime_template_derived, seller_operating_days, seller_prime_speeds

# A new seller's settings meet every programme requirement (SPEC section 1): its cutoffs are
# the minimums of the cutoff requirements (``sellers.requirements``), its pickups later.
DEFAULT_PICKUP = dt.time(17, 0)
DEFAULT_CARRIER_NAME = "UPS Ground"


def seller_defaults_create(*, seller: Seller) -> None:
    """Give a new seller the settings SPEC section 1 names: the 48 contiguous states and DC
    at two-day, Monday-Saturday operated with the minimum cutoffs, six-day delivery, and one
    carrier with a 17:00 pickup on operated days that reaches the template's regions."""
    PrimeRegion.objects.bulk_create(
        PrimeRegion(
            seller=seller,
            state=state,
            speed=Speed.TWO_DAY if state in CONTIGUOUS_REGIONS else Speed.NOT_OFFERED,
        )
        for state in STATES
    )
    operated = [day for day in Weekday if day != Weekday.SUNDAY]
    OperatingDay.objects.bulk_create(
        OperatingDay(
            seller=seller,
            weekday=day,
            operated=day in operated,
            cutoff=cutoff_requirement(day).minimum_cutoff if day in operated else None,
        )
        for day in Weekday
    )
    carrier = CarrierService.objects.create(seller=seller, name=DEFAULT_CARRIER_NAME)
    CarrierPickup.objects.bulk_create(
        CarrierPickup(carrier_service=carrier, weekday=day, pickup_time=DEFAULT_PICKUP) for day in operated
    )
    CarrierZone.objects.bulk_create(
        CarrierZone(carrier_service=carrier, state=state, transit_days=2) for state in sorted(CONTIGUOUS_REGIONS)
    )


@transaction.atomic
def seller_create(
    *,
    merchant_token: str,
    name: str,
    timezone_name: str | None = None,
    enrolled_on: dt.date | None = None,
) -> Seller:
    seller = Seller(merchant_token=merchant_token, name=name)
    if timezone_name:
        seller.timezone = timezone_name
    if enrolled_on:
        seller.enrolled_on = enrolled_on
    seller.full_clean()
    seller.save()
    seller_defaults_create(seller=seller)
    return seller


@transaction.atomic
def seller_user_create(*, seller: Seller, username: str, password: str, email: str = "") -> User:
    user = User(username=username, email=email, seller=seller)
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


def user_email_preferences_update(*, user: User, wanted: Iterable[str]) -> User:
    """Store which of the optional emails (``OPTIONAL_EMAILS``) ``user`` wants: the others
    are turned off. Revocation and reinstatement cannot be (SPEC section 8), whatever
    ``wanted`` says. A user's own preference, not a seller setting: not audited."""
    wanted = set(wanted)
    user.email_opt_outs = [kind for kind in OPTIONAL_EMAILS if kind not in wanted]
    user.save(update_fields=["email_opt_outs"])
    return user


@transaction.atomic
def volume_control_change(
    *,
    seller: Seller,
    daily_cap: int | None,
    paused: bool,
    paused_until: dt.datetime | None = None,
    changed_by: User | None = None,
    effective_at: dt.datetime | None = None,
) -> VolumeControlChange:
    """Record a new state of the Prime order-volume control, effective from now (or the
    given moment), and re-decide which of the affected orders are Prime orders."""
    change = VolumeControlChange.objects.create(
        seller=seller,
        daily_cap=daily_cap,
        paused=paused,
        paused_until=paused_until if paused else None,
        changed_by=changed_by,
        effective_at=effective_at or timezone.now(),
    )
    since = seller.local_date(change.effective_at)
    orders_classify_prime(seller_ids=[seller.pk], since=since)
    return change


def orders_classify_prime(*, seller_ids: Iterable[int], since: dt.date | None = None) -> int:
    """Decide ``Order.is_prime`` for the sellers' orders purchased on or after ``since``.

    SPEC section 3: an order is not a Prime order when it was placed while the badge was
    off: while the seller was not eligible (the latest status change at or before the
    purchase is a revocation), while the badge was paused, or when the daily cap in force
    at its purchase time was already reached, i.e. at least that many of the seller's
    earlier orders of the same local date (ordered by purchase time, then order id) were
    placed while the badge was on.

    One statement (``sellers.sql.orders_classify_prime``) for the sellers ever revoked,
    paused or capped; the others' orders are all Prime orders. Returns the number of orders
    whose decision changed.
    """
    seller_ids = list(seller_ids)
    if not seller_ids:
        return 0
    # Whole local days only: an order's decision depends on every earlier order that day.
    params = {"sellers": seller_ids, "revoked": SellerEvent.Kind.REVOKED, "since": since}
    changed = 0
    with connection.cursor() as cursor:
        # A seller that was never revoked, never paused nor capped has only Prime orders: no
        # window to compute (an import of a million orders of such sellers spent a second here
        # for nothing).
        cursor.execute(statements.controlled_sellers(), params)
        controlled = {seller_id for (seller_id,) in cursor.fetchall()}
        unrestricted = [seller_id for seller_id in seller_ids if seller_id not in controlled]
        if unrestricted:
            cursor.execute(statements.orders_all_prime(since=since is not None), {**params, "sellers": unrestricted})
            changed += cursor.rowcount
        seller_ids = [seller_id for seller_id in seller_ids if seller_id in controlled]
        if seller_ids:
            cursor.execute(statements.orders_classify_prime(since=since is not None), {**params, "sellers": seller_ids})
            changed += cursor.rowcount
    return changed


# ---------------------------------------------------------------------------------------
# Settings editors (SPEC section 1), each change audited in its own transaction
# ---------------------------------------------------------------------------------------

AuditSide = dict[str, object]


def _known(actor: User | None) -> User | None:
    """The acting account to record, or None for the portal itself or an anonymous request."""
    return actor if actor is not None and actor.is_authenticated else None


def audit_entry_create(
    *,
    seller: Seller | None,
    actor: User | None,
    action: str,
    summary: str,
    before: AuditSide | None,
    after: AuditSide | None,
    reason: str = "",
    now: dt.datetime | None = None,
) -> AuditEntry:
    """Record one change. Call it inside the transaction that makes the change, so the
    history never shows a change that was rolled back, nor misses one that was kept.

    The summary is written in the actor's language, as they read it when they acted.

    The entry changes what the seller's pages show (their state), so once the change commits
    those pages read from the primary until a read replica has it (``portal.routers``)."""
    if seller is not None:
        replica_mark_written(seller_ids=[seller.pk])
    return AuditEntry.objects.create(
        seller=seller,
        actor=_known(actor),
        action=action,
        summary=summary[:300],
        before=before,
        after=after,
        reason=reason,
        created_at=now or timezone.now(),
    )


def _changed_sides(before: AuditSide, after: AuditSide) -> tuple[AuditSide, AuditSide]:
    """Both sides restricted to the keys whose values differ; empty when nothing changed."""
    keys = [key for key in dict.fromkeys([*before, *after]) if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after.get(key) for key in keys}


def _seller_lock(seller: Seller) -> Seller:
    """The seller's row, locked until the transaction ends, so two editors of the same
    settings take turns and each audit entry's "before" is what the change replaced."""
    return Seller.objects.select_for_update().get(pk=seller.pk)


def _clock(moment: dt.time | None) -> str | None:
    return moment.strftime("%H:%M") if moment is not None else None


def _weekday_key(weekday: int) -> str:
    return Weekday(weekday).name.lower()


def _prime_speeds_write(*, seller: Seller, speeds: Mapping[str, str]) -> None:
    """Store the given states' speeds: at most one update per speed, and rows for states
    the seller has none for yet."""
    existing = set(PrimeRegion.objects.filter(seller=seller, state__in=list(speeds)).values_list("state", flat=True))
    for speed in Speed.values:
        states = [state for state, value in speeds.items() if value == speed and state in existing]
        if states:
            PrimeRegion.objects.filter(seller=seller, state__in=states).update(speed=speed)
    PrimeRegion.objects.bulk_create(
        PrimeRegion(seller=seller, state=state, speed=speed) for state, speed in speeds.items() if state not in existing
    )


def _speed_label(speed: object) -> str:
    """A state's speed as an audit side holds it (a ``Speed`` value), in words."""
    if not isinstance(speed, str):
        raise TypeError(f"{speed!r} is not a speed.")
    return str(Speed(speed).label)


def _template_summary(before: AuditSide, after: AuditSide, *, automated: bool) -> str:
    parts = []
    if "region_automation" in after:
        parts.append(
            _("Region automation turned on") if after["region_automation"] else _("Region automation turned off")
        )
    states = [key for key in after if key in STATE_NAMES]
    if states:
        changes = ", ".join(
            f"{state} {_speed_label(before[state])} → {_speed_label(after[state])}" for state in states[:5]
        )
        if len(states) > 5:
            changes += ", …"
        count = ngettext("%(count)d state changed", "%(count)d states changed", len(states)) % {"count": len(states)}
        parts.append(f"{count}: {changes}")
    if automated:
        parts.insert(0, _("Region automation followed a carrier service change"))
    return "; ".join(parts)


def _prime_template_apply(
    *, seller: Seller, actor: User | None, region_automation: bool, speeds: Mapping[str, str], automated: bool = False
) -> AuditEntry | None:
    before_speeds = seller_prime_speeds(seller=seller)
    if region_automation:
        after_speeds = {state: region.speed for state, region in prime_template_derived(seller=seller).items()}
    else:
        after_speeds = {**before_speeds, **speeds}
    before, after = _changed_sides(
        {"region_automation": seller.region_automation, **before_speeds},
        {"region_automation": region_automation, **after_speeds},
    )
    if not after:
        return None
    if "region_automation" in after:
        seller.region_automation = region_automation
        seller.save(update_fields=["region_automation"])
    _prime_speeds_write(seller=seller, speeds={state: after_speeds[state] for state in after if state in after_speeds})
    return audit_entry_create(
        seller=seller,
        actor=actor,
        action=AuditEntry.Action.SHIPPING_TEMPLATE,
        summary=_template_summary(before, after, automated=automated),
        before=before,
        after=after,
    )


@transaction.atomic
def shipping_template_update(
    *, seller: Seller, actor: User | None, region_automation: bool, speeds: Mapping[str, str] | None = None
) -> AuditEntry | None:
    """Edit the Prime shipping template by hand, or switch region automation (SPEC section 1).

    With automation on, ``speeds`` is ignored: each state gets the fastest speed any carrier
    service offers there. Turning automation off keeps the derived speeds as the starting
    point for editing. Returns the audit entry, or None when nothing changed.
    """
    speeds = dict(speeds or {})
    unknown = {state for state in speeds if state not in STATE_NAMES} | {
        value for value in speeds.values() if value not in Speed.values
    }
    if unknown:
        raise ValueError(f"Not a state or speed of the Prime template: {sorted(unknown)}")
    locked = _seller_lock(seller)
    entry = _prime_template_apply(seller=locked, actor=actor, region_automation=region_automation, speeds=speeds)
    seller.region_automation = locked.region_automation
    return entry


@transaction.atomic
def prime_template_automate(*, seller: Seller, actor: User | None) -> AuditEntry | None:
    """Re-derive the template from the carrier services when region automation is on; the
    carrier services' editors call it after every change. None when automation is off or
    the derived template is unchanged."""
    locked = _seller_lock(seller)
    if not locked.region_automation:
        return None
    return _prime_template_apply(seller=locked, actor=actor, region_automation=True, speeds={}, automated=True)


def _fulfilment_side(days: Mapping[int, tuple[bool, dt.time | None]], weekend_delivery: bool) -> AuditSide:
    side: AuditSide = {}
    for weekday, (operated, cutoff) in sorted(days.items()):
        side[f"{_weekday_key(weekday)}_operated"] = operated
        side[f"{_weekday_key(weekday)}_cutoff"] = _clock(cutoff)
    side["weekend_delivery"] = weekend_delivery
    return side


@transaction.atomic
def fulfilment_update(
    *,
    seller: Seller,
    actor: User | None,
    days: Mapping[int, tuple[bool, dt.time | None]],
    weekend_delivery: bool,
) -> AuditEntry | None:
    """Store which weekdays the seller operates with their cutoffs, and six-day delivery
    (SPEC section 1). A closed day keeps no cutoff. The settings form has refused cutoffs the
    programme would revoke (SPEC section 2). Returns the audit entry, or None for a no-op."""
    if set(days) - set(Weekday.values):
        raise ValueError(f"Weekdays are 0 (Monday) to 6 (Sunday), not {sorted(set(days) - set(Weekday.values))}")
    locked = _seller_lock(seller)
    current = seller_operating_days(seller=locked)
    wanted = {weekday: (operated, cutoff if operated else None) for weekday, (operated, cutoff) in days.items()}
    before, after = _changed_sides(
        _fulfilment_side({d: (current[d].operated, current[d].cutoff) for d in wanted}, locked.weekend_delivery),
        _fulfilment_side(wanted, weekend_delivery),
    )
    if not after:
        return None
    for weekday, (operated, cutoff) in wanted.items():
        OperatingDay.objects.update_or_create(
            seller=locked, weekday=weekday, defaults={"operated": operated, "cutoff": cutoff}
        )
    if locked.weekend_delivery != weekend_delivery:
        locked.weekend_delivery = seller.weekend_delivery = weekend_delivery
        locked.save(update_fields=["weekend_delivery"])
    changed_days = sorted(
        {key.rsplit("_", 1)[0] for key in after if key != "weekend_delivery"}, key=lambda name: Weekday[name.upper()]
    )
    parts = [", ".join(str(Weekday[name.upper()].label) for name in changed_days)] if changed_days else []
    if "weekend_delivery" in after:
        parts.append(_("six-day delivery on") if weekend_delivery else _("six-day delivery off"))
    return audit_entry_create(
        seller=locked,
        actor=actor,
        action=AuditEntry.Action.FULFILMENT,
        summary=_("Fulfilment changed: %(what)s") % {"what": "; ".join(parts)},
        before=before,
        after=after,
    )


def _carrier_side(
    *,
    name: str,
    pickups: Mapping[int, dt.time | None],
    one_day_states: Collection[str],
    two_day_states: Collection[str],
) -> AuditSide:
    side: AuditSide = {"name": name}
    for weekday in Weekday.values:
        side[f"{_weekday_key(weekday)}_pickup"] = _clock(pickups.get(weekday))
    side["one_day_states"] = sorted(one_day_states)
    side["two_day_states"] = sorted(two_day_states)
    return side


def _carrier_current(carrier_service: CarrierService) -> AuditSide:
    zones = list(carrier_service.zones.values_list("state", "transit_days"))
    return _carrier_side(
        name=carrier_service.name,
        pickups=dict(carrier_service.pickups.values_list("weekday", "pickup_time")),
        one_day_states=[state for state, days in zones if days == 1],
        two_day_states=[state for state, days in zones if days == 2],
    )


def _carrier_write(
    *,
    carrier_service: CarrierService,
    pickups: Mapping[int, dt.time | None],
    one_day_states: Collection[str],
    two_day_states: Collection[str],
) -> None:
    both = set(one_day_states) & set(two_day_states)
    if both:
        raise ValueError(f"A state is reached in one day or in two, not both: {sorted(both)}")
    unknown = (set(one_day_states) | set(two_day_states)) - set(STATES)
    if unknown:
        raise ValueError(f"Not states of the Prime template: {sorted(unknown)}")
    carrier_service.pickups.all().delete()
    CarrierPickup.objects.bulk_create(
        CarrierPickup(carrier_service=carrier_service, weekday=weekday, pickup_time=moment)
        for weekday, moment in sorted(pickups.items())
        if moment is not None
    )
    carrier_service.zones.all().delete()
    CarrierZone.objects.bulk_create(
        [CarrierZone(carrier_service=carrier_service, state=state, transit_days=1) for state in sorted(one_day_states)]
        + [
            CarrierZone(carrier_service=carrier_service, state=state, transit_days=2)
            for state in sorted(two_day_states)
        ]
    )


@transaction.atomic
def carrier_service_create(
    *,
    seller: Seller,
    actor: User | None,
    name: str,
    pickups: Mapping[int, dt.time | None],
    one_day_states: Collection[str],
    two_day_states: Collection[str],
) -> CarrierService:
    """Add a carrier service with its pickups and delivery zones (SPEC section 1); with
    region automation on, the Prime template follows."""
    locked = _seller_lock(seller)
    carrier_service = CarrierService.objects.create(seller=locked, name=name)
    _carrier_write(
        carrier_service=carrier_service, pickups=pickups, one_day_states=one_day_states, two_day_states=two_day_states
    )
    audit_entry_create(
        seller=locked,
        actor=actor,
        action=AuditEntry.Action.CARRIER_CREATED,
        summary=_("Carrier service %(name)s added") % {"name": name},
        before={},
        after=_carrier_side(name=name, pickups=pickups, one_day_states=one_day_states, two_day_states=two_day_states),
    )
    prime_template_automate(seller=locked, actor=actor)
    return carrier_service


@transaction.atomic
def carrier_service_update(
    *,
    carrier_service: CarrierService,
    actor: User | None,
    name: str,
    pickups: Mapping[int, dt.time | None],
    one_day_states: Collection[str],
    two_day_states: Collection[str],
) -> AuditEntry | None:
    """Change a carrier service; None when nothing changed. With region automation on, the
    Prime template follows."""
    locked = _seller_lock(carrier_service.seller)
    carrier_service = CarrierService.objects.select_for_update().get(pk=carrier_service.pk)
    before, after = _changed_sides(
        _carrier_current(carrier_service),
        _carrier_side(name=name, pickups=pickups, one_day_states=one_day_states, two_day_states=two_day_states),
    )
    if not after:
        return None
    if carrier_service.name != name:
        carrier_service.name = name
        carrier_service.save(update_fields=["name"])
    _carrier_write(
        carrier_service=carrier_service, pickups=pickups, one_day_states=one_day_states, two_day_states=two_day_states
    )
    entry = audit_entry_create(
        seller=locked,
        actor=actor,
        action=AuditEntry.Action.CARRIER_CHANGED,
        summary=_("Carrier service %(name)s changed") % {"name": name},
        before=before,
        after=after,
    )
    prime_template_automate(seller=locked, actor=actor)
    return entry


@transaction.atomic
def carrier_service_delete(*, carrier_service: CarrierService, actor: User | None) -> AuditEntry:
    """Remove a carrier service with its pickups and zones; with region automation on, the
    Prime template follows."""
    locked = _seller_lock(carrier_service.seller)
    before = _carrier_current(carrier_service)
    carrier_service.delete()
    entry = audit_entry_create(
        seller=locked,
        actor=actor,
        action=AuditEntry.Action.CARRIER_DELETED,
        summary=_("Carrier service %(name)s removed") % {"name": before["name"]},
        before=before,
        after={},
    )
    prime_template_automate(seller=locked, actor=actor)
    return entry


def _volume_control_side(control: VolumeControlChange | None, moment: dt.datetime) -> AuditSide:
    """The control as it acts at ``moment``: a pause that has ended is no pause."""
    paused = paused_by(control, moment)
    until = control.paused_until if paused and control is not None and control.paused_until else None
    return {
        "daily_cap": control.daily_cap if control else None,
        "paused": paused,
        # In UTC: the same moment read back from the database or typed in the seller's zone
        # is the same text, so an unchanged pause compares equal.
        "paused_until": until.astimezone(dt.UTC).isoformat() if until else None,
    }


def _volume_control_moment(control: VolumeControlChange | None) -> str | None:
    return control.effective_at.astimezone(dt.UTC).isoformat() if control else None


def _volume_control_audit(
    *,
    seller: Seller,
    actor: User | None,
    before: AuditSide,
    after: AuditSide,
    replaced: VolumeControlChange | None,
    in_force: VolumeControlChange | None,
    now: dt.datetime,
    summary: str | None = None,
) -> AuditEntry:
    """The audit entry of a change of the volume control, from the settings page or the
    admin: the changed parts of the control (``before``/``after``) with the moments the
    replaced control and the one now in force took effect. The summary names the control
    in force unless the caller says otherwise."""
    if summary is None:
        assert in_force is not None
        cap = _("no cap") if in_force.daily_cap is None else str(in_force.daily_cap)
        badge = _("Prime badge paused") if in_force.paused else _("Prime badge on")
        moment = in_force.effective_at.astimezone(seller.zone).strftime("%Y-%m-%d %H:%M %Z")
        summary = _("Volume control from %(moment)s: daily cap %(cap)s, %(badge)s") % {
            "moment": moment,
            "cap": cap,
            "badge": badge,
        }
    return audit_entry_create(
        seller=seller,
        actor=actor,
        action=AuditEntry.Action.VOLUME_CONTROL,
        summary=summary,
        before={**before, "effective_at": _volume_control_moment(replaced)},
        after={**after, "effective_at": _volume_control_moment(in_force)},
        now=now,
    )


def _volume_control_not_in_the_past(effective_at: dt.datetime, now: dt.datetime) -> None:
    if effective_at < now:
        raise ValueError("A volume control change takes effect now or later: days already judged keep theirs.")


@transaction.atomic
def volume_control_update(
    *,
    seller: Seller,
    actor: User | None,
    daily_cap: int | None,
    paused: bool,
    paused_until: dt.datetime | None = None,
    now: dt.datetime | None = None,
    effective_at: dt.datetime | None = None,
) -> VolumeControlChange | None:
    """Change the Prime order-volume control from ``effective_at`` (default ``now``; never
    earlier, which would rewrite days already judged) (SPEC sections 1 and 3), audited.

    Compared with the control in force at that moment; an unchanged control records nothing.
    """
    now = now or timezone.now()
    effective_at = effective_at or now
    _volume_control_not_in_the_past(effective_at, now)
    if daily_cap is not None and daily_cap < 0:
        raise ValueError("A daily cap is a number of orders, 0 or more.")
    if paused and paused_until is not None and paused_until <= effective_at:
        raise ValueError("A pause must end in the future.")
    locked = _seller_lock(seller)
    current = locked.volume_control_at(effective_at)
    before = _volume_control_side(current, effective_at)
    after = _volume_control_side(
        VolumeControlChange(daily_cap=daily_cap, paused=paused, paused_until=paused_until), effective_at
    )
    before, after = _changed_sides(before, after)
    if not after:
        return None
    change = volume_control_change(
        seller=locked,
        daily_cap=daily_cap,
        paused=paused,
        paused_until=paused_until,
        changed_by=_known(actor),
        effective_at=effective_at,
    )
    _volume_control_audit(
        seller=locked, actor=actor, before=before, after=after, replaced=current, in_force=change, now=now
    )
    return change


@transaction.atomic
def api_token_create(
    *, seller: Seller, actor: User | None, name: str, now: dt.datetime | None = None
) -> tuple[ApiToken, str]:
    """A new bearer token for ``/api/performance/``. Returns the stored token (its hash and
    prefix only) and the token itself, which the caller shows once and never stores."""
    locked = _seller_lock(seller)
    raw, prefix, key_hash = api_token_generate()
    token = ApiToken.objects.create(
        seller=locked,
        created_by=_known(actor),
        name=name,
        prefix=prefix,
        key_hash=key_hash,
        created_at=now or timezone.now(),
    )
    audit_entry_create(
        seller=locked,
        actor=actor,
        action=AuditEntry.Action.API_TOKEN_CREATED,
        summary=_("API token %(name)s (%(prefix)s…) created") % {"name": name, "prefix": prefix},
        before={},
        after={"name": name, "prefix": prefix},
        now=now,
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, api_token: ApiToken, actor: User | None, now: dt.datetime | None = None) -> AuditEntry | None:
    """Revoke a token from ``now`` on; None when it was already revoked."""
    now = now or timezone.now()
    locked = _seller_lock(api_token.seller)
    token = ApiToken.objects.select_for_update().get(pk=api_token.pk)
    if token.revoked_at is not None:
        return None
    token.revoked_at = api_token.revoked_at = now
    token.save(update_fields=["revoked_at"])
    return audit_entry_create(
        seller=locked,
        actor=actor,
        action=AuditEntry.Action.API_TOKEN_REVOKED,
        summary=_("API token %(name)s (%(prefix)s…) revoked") % {"name": token.name, "prefix": token.prefix},
        before={"name": token.name, "prefix": token.prefix, "revoked_at": None},
        after={"name": token.name, "prefix": token.prefix, "revoked_at": now.isoformat()},
        now=now,
    )


@transaction.atomic
def volume_control_scheduled_update(
    *,
    change: VolumeControlChange,
    actor: User | None,
    daily_cap: int | None,
    paused: bool,
    paused_until: dt.datetime | None = None,
    effective_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> AuditEntry | None:
    """Edit a volume control change that has not taken effect yet (SPEC sections 1 and 3):
    its control and its moment, which stays now or later. A change already in effect is
    history: it decided orders of days already judged, so it is refused. The orders of
    both moments' days on are decided again; audited; None when nothing changed."""
    now = now or timezone.now()
    effective_at = effective_at or now
    _volume_control_not_in_the_past(effective_at, now)
    if daily_cap is not None and daily_cap < 0:
        raise ValueError("A daily cap is a number of orders, 0 or more.")
    if paused and paused_until is not None and paused_until <= effective_at:
        raise ValueError("A pause must end after it begins.")
    locked = _seller_lock(change.seller)
    stored = VolumeControlChange.objects.select_for_update().get(pk=change.pk)
    _volume_control_not_in_effect(stored, now)
    replaced = copy.copy(stored)
    edited = VolumeControlChange(
        daily_cap=daily_cap, paused=paused, paused_until=paused_until if paused else None, effective_at=effective_at
    )
    before, after = _changed_sides(
        _volume_control_side(replaced, replaced.effective_at), _volume_control_side(edited, effective_at)
    )
    if not after and effective_at == replaced.effective_at:
        return None
    for field in ("daily_cap", "paused", "paused_until", "effective_at"):
        setattr(stored, field, getattr(edited, field))
        setattr(change, field, getattr(edited, field))
    stored.save(update_fields=["daily_cap", "paused", "paused_until", "effective_at"])
    since = min(locked.local_date(replaced.effective_at), locked.local_date(effective_at))
    orders_classify_prime(seller_ids=[locked.pk], since=since)
    return _volume_control_audit(
        seller=locked, actor=actor, before=before, after=after, replaced=replaced, in_force=stored, now=now
    )


@transaction.atomic
def volume_control_scheduled_delete(
    *, change: VolumeControlChange, actor: User | None, now: dt.datetime | None = None
) -> AuditEntry:
    """Cancel a volume control change that has not taken effect yet: from its moment on the
    control before it stays in force. A change already in effect is history and is refused.
    The orders from its day on are decided again; audited."""
    now = now or timezone.now()
    locked = _seller_lock(change.seller)
    stored = VolumeControlChange.objects.select_for_update().get(pk=change.pk)
    _volume_control_not_in_effect(stored, now)
    moment = stored.effective_at
    stored.delete()
    following = locked.volume_control_at(moment)
    before, after = _changed_sides(_volume_control_side(stored, moment), _volume_control_side(following, moment))
    orders_classify_prime(seller_ids=[locked.pk], since=locked.local_date(moment))
    return _volume_control_audit(
        seller=locked,
        actor=actor,
        before=before,
        after=after,
        replaced=stored,
        in_force=following,
        now=now,
        summary=_("Volume control planned from %(moment)s cancelled")
        % {"moment": moment.astimezone(locked.zone).strftime("%Y-%m-%d %H:%M %Z")},
    )


def _volume_control_not_in_effect(change: VolumeControlChange, now: dt.datetime) -> None:
    if change.effective_at <= now:
        raise ValueError(
            f"The volume control change of {change.effective_at.isoformat()} is in effect: it is history and "
            "stays as it is; record a new change instead."
        )


# ---------------------------------------------------------------------------------------
# A seller's time zone (SPEC section 1)
# ---------------------------------------------------------------------------------------


@transaction.atomic
def seller_timezone_change(*, seller: Seller, timezone_name: str, actor: User | None) -> AuditEntry | None:
    """Move a seller to another IANA time zone (SPEC section 1).

    Every local date of the seller's stored orders, and of its reinstatements, follows the new
    zone in the same transaction, and Prime orders are decided again for all of them, because
    daily caps count per local date (SPEC section 3). Snapshots already computed keep their
    figures (``metrics.services.snapshots_compute`` leaves a day counted in another zone).
    Audited; None when the zone is unchanged. Raises ``ValidationError`` for a name that is
    not a time zone, changing nothing.
    """
    locked = _seller_lock(seller)
    Seller._meta.get_field("timezone").clean(timezone_name, locked)
    if locked.timezone == timezone_name:
        return None
    before = locked.timezone
    locked.timezone = timezone_name
    locked.save(update_fields=["timezone"])
    seller.timezone = timezone_name
    now = timezone.now()
    # Every local date of the seller's orders in the new zone: one statement, the SQL half of
    # Order.set_local_dates (the time-zone tests hold the two together).
    with connection.cursor() as cursor:
        cursor.execute(statements.orders_redate(), {"zone": locked.timezone, "now": now, "seller": locked.pk})
        redated = cursor.rowcount
    # A reinstatement's day is its local date in the seller's zone (the status history's
    # view computes it), so "at or before the end of D" now reads the new zone.
    orders_classify_prime(seller_ids=[locked.pk])
    return audit_entry_create(
        seller=locked,
        actor=actor,
        action=AuditEntry.Action.TIMEZONE_CHANGED,
        summary=ngettext(
            "Time zone changed from %(before)s to %(after)s: %(count)d order re-dated",
            "Time zone changed from %(before)s to %(after)s: %(count)d orders re-dated",
            redated,
        )
        % {"before": before, "after": timezone_name, "count": redated},
        before={"timezone": before},
        after={"timezone": timezone_name},
        now=now,
    )


# ---------------------------------------------------------------------------------------
# Orders edited or deleted by staff
# ---------------------------------------------------------------------------------------

# The stored facts of an order that an edit may change: not its identity (seller, order
# id), nor what is derived from the facts (local dates, Prime decision, updated_at).
ORDER_FACT_FIELDS: tuple[str, ...] = tuple(
    field.name
    for field in Order._meta.concrete_fields
    if field.editable
    and not field.primary_key
    and field.name not in {"seller", "order_id", "is_prime", *(date for _moment, date in Order.LOCAL_DATE_FIELDS)}
)


def _audit_value(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _order_side(order: Order) -> AuditSide:
    return {name: _audit_value(getattr(order, name)) for name in ORDER_FACT_FIELDS}


def _order_field_label(name: str) -> str:
    """The name of an order's field, in the active language."""
    field = Order._meta.get_field(name)
    if not isinstance(field, Field):
        raise ValueError(f"Order.{name} is the other side of a relation, not a field of the order.")
    return str(field.verbose_name)


@transaction.atomic
def order_update(*, order: Order, actor: User | None) -> AuditEntry | None:
    """Store staff's edit of an order (``order`` carries the new facts): its local dates
    follow its timestamps in the seller's zone (``Order.set_local_dates``), the Prime orders
    of its old and new local purchase dates are decided again, and the edit is audited.

    Raises ``ValidationError`` for what the model refuses (``Order.clean`` and the fields'
    validators), changing nothing. None when nothing changed."""
    locked = _seller_lock(order.seller)
    stored = Order.objects.select_for_update().get(pk=order.pk)
    if (stored.seller_id, stored.order_id) != (order.seller_id, order.order_id):
        raise ValueError("An order keeps its seller and order id; delete it and import it again instead.")
    order.set_local_dates(locked.zone)
    order.full_clean()
    before, after = _changed_sides(_order_side(stored), _order_side(order))
    if not after:
        return None
    order.save()
    orders_classify_prime(seller_ids=[locked.pk], since=min(stored.purchase_date, order.purchase_date))
    order.is_prime = Order.objects.values_list("is_prime", flat=True).get(pk=order.pk)
    changed = ", ".join(_order_field_label(name) for name in after)
    return audit_entry_create(
        seller=locked,
        actor=actor,
        action=AuditEntry.Action.ORDER_CHANGED,
        summary=_("Order %(order_id)s changed: %(fields)s") % {"order_id": order.order_id, "fields": changed},
        before=before,
        after=after,
    )


@transaction.atomic
def order_delete(*, order: Order, actor: User | None) -> AuditEntry:
    """Delete an order at staff's request: the Prime orders of its local purchase date on
    are decided again (it may have used up a daily cap), and the whole order is kept in
    the audit entry."""
    locked = _seller_lock(order.seller)
    stored = Order.objects.select_for_update().get(pk=order.pk)
    before = {"order_id": stored.order_id, **_order_side(stored)}
    stored.delete()
    orders_classify_prime(seller_ids=[locked.pk], since=stored.purchase_date)
    return audit_entry_create(
        seller=locked,
        actor=actor,
        action=AuditEntry.Action.ORDER_DELETED,
        summary=_("Order %(order_id)s deleted") % {"order_id": stored.order_id},
        before=before,
        after={},
    )
