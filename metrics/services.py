"""Writes for performance: snapshots, evaluation, revocation (SPEC sections 3 and 4)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import Error as DatabaseFailure
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from metrics import sql as statements
from metrics.definitions import (
    METRIC_DEFINITIONS,
    METRICS,
    SNAPSHOT_KEYS,
    THRESHOLD_DECIMALS,
    WINDOWS,
    threshold_column,
)
from metrics.incidents import EXCUSABLE_METRICS, INCIDENT_MAX_OPEN, INCIDENT_NOTE_MAX, open_incidents_full_sentence
from metrics.models import DailySnapshot, Incident, PlanDraft, PlanOfAction, ThresholdChange
from metrics.presenters.reasons import reason_label
from metrics.reasons import (
    IncidentReason,
    PlanReason,
    ReinstatementReason,
    RevocationReason,
    reasons_to_json,
    revocation_reasons_from_json,
)
from metrics.selectors import (
    can_review_plans,
    incident_reinstatement,
    metric_count_rows,
    plan_submission,
    seller_latest_revocation,
    seller_open_incident_count,
    seller_open_plan,
    thresholds_in_force,
)
from portal.bounds import excerpt
from sellers.choices import ProgrammeStatus
from sellers.models import AuditEntry, Seller, SellerEvent, User, day_end, local_date, zone
from sellers.services import audit_entry_create, orders_classify_prime
from webhooks import events as webhook_events

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 1000


def portal_yesterday() -> dt.date:
    """D for the scheduled run: yesterday in the portal's time zone (SPEC section 4)."""
    return timezone.localdate() - dt.timedelta(days=1)


@dataclass(frozen=True)
class Readiness:
    """Which sellers D has ended for at a moment (SPEC section 4: no seller is evaluated for D
    before D has ended in its own time zone), and when it ends for the others."""

    ready: list[int]
    waiting: list[int]
    waiting_until: dt.datetime | None  # when D has ended for every waiting seller


def sellers_readiness(
    *, day: dt.date, seller_ids: Sequence[int] | None = None, now: dt.datetime | None = None
) -> Readiness:
    """Split the sellers (all when None) by whether D has ended in their zone at ``now``: one
    comparison per distinct zone, whatever the number of sellers."""
    now = now or timezone.now()
    sellers = Seller.objects.order_by("pk")
    if seller_ids is not None:
        sellers = sellers.filter(pk__in=list(seller_ids))
    # Unordered: an ORDER BY pk would put the id in the DISTINCT, a row per seller.
    zones = sellers.order_by().values_list("timezone", flat=True).distinct()
    ends = {name: day_end(day, name) for name in zones}
    waiting_zones = [name for name, end in ends.items() if end > now]
    if not waiting_zones:
        return Readiness(ready=list(sellers.values_list("pk", flat=True)), waiting=[], waiting_until=None)
    waiting = list(sellers.filter(timezone__in=waiting_zones).values_list("pk", flat=True))
    ready = list(sellers.exclude(timezone__in=waiting_zones).values_list("pk", flat=True))
    return Readiness(ready=ready, waiting=waiting, waiting_until=max(ends[name] for name in waiting_zones))


@contextmanager
def planner_settings(cursor, settings: Mapping[str, str]) -> Iterator[None]:
    """Run the block's statements under ``settings`` (``SET LOCAL``), then set back the values
    in force before: a caller's transaction may go on with other queries. A failure leaves
    the transaction to roll back, which sets them back too."""
    if not settings:
        yield
        return
    cursor.execute(statements.settings_current(list(settings)))
    in_force = dict(zip(settings, cursor.fetchone(), strict=True))
    cursor.execute(statements.settings_set(settings))
    yield
    cursor.execute(statements.settings_set(in_force))


def snapshots_compute(*, day: dt.date, seller_ids: Sequence[int] | None = None) -> int:
    """Compute and store both windows' metrics for the sellers (all when None) for D.

    One aggregate query for the counts, then an upsert of one ``DailySnapshot`` row per
    seller on (seller, day), so a rerun, or two runs at once, leave exactly one row per key.
    Returns the metric snapshots written (fourteen a seller).

    The counts go into a temporary table, then one INSERT ... SELECT ... ON CONFLICT judges
    every metric in SQL and upserts a row per seller (``metrics.sql.snapshot_upsert``):
    nothing goes through Python. Two statements, not one, because PostgreSQL never runs a
    data-modifying statement's query in parallel, while CREATE TABLE AS may: the aggregate
    over the orders is the cost, and it keeps its parallel workers. Once the orders hold more
    than a few windows of purchase dates, the counts run under the planner settings of
    ``metrics.sql.SNAPSHOT_COUNTS_PLAN``, so they read the window's orders and not the whole
    history however large the table grows (before, the window is most of the table, and
    scanning it is cheaper). Sellers without orders in
    the window get their rows of zeros.

    A seller's row counted in another time zone than the seller's current one (the seller
    changed it since) is kept as it was: its local dates were those of the other zone, and
    snapshots already computed stay as they were (SPEC section 1).
    """
    thresholds = thresholds_in_force(day)
    counts = metric_count_rows(day=day, seller_ids=seller_ids)
    # Protected units are counted for late deliveries only, excused units on days with incidents.
    counted = set(counts.query.annotations)
    counts_sql, counts_params = counts.query.sql_with_params()
    params = {
        "day": day,
        "now": timezone.now(),
        "sellers": None if seller_ids is None else list(seller_ids),
        **{threshold_column(name): thresholds[name] for name in METRICS},
    }
    with transaction.atomic(), connection.cursor() as cursor:
        # Dropped at commit; dropped first too, for a second call in the same transaction.
        cursor.execute(statements.snapshot_counts_drop())
        cursor.execute(statements.orders_oldest_purchase_date())
        (oldest,) = cursor.fetchone()
        short = oldest is None or (day - oldest).days < statements.SNAPSHOT_COUNTS_SHORT_WINDOWS * max(WINDOWS)
        plan = statements.SNAPSHOT_COUNTS_PLAN_SHORT if short else statements.SNAPSHOT_COUNTS_PLAN
        with planner_settings(cursor, plan):
            cursor.execute(statements.snapshot_counts_create(counts_sql), counts_params)
        cursor.execute(statements.snapshot_upsert(counted=counted, some_sellers=seller_ids is not None), params)
        return cursor.rowcount * len(SNAPSHOT_KEYS)


@dataclass
class EvaluationResult:
    evaluated: int = 0
    revoked: list[int] = field(default_factory=list)


def sellers_evaluate(
    *, day: dt.date, seller_ids: Sequence[int] | None = None, snapshots_from: dt.datetime | None = None
) -> EvaluationResult:
    """SPEC section 4: an eligible seller with any failing metric in either window on D, or a
    failing requirement (warnings aside), becomes not eligible. A not-eligible seller stays
    so until staff reinstate it. Reads D's snapshots, which must be computed first.

    Requirements are checked on the settings as they are now, so they judge only the
    seller's latest day: computing an earlier day again (a retry, ``run_daily --date``)
    judges it by its own figures alone, and its verdict stays the one it had.

    The database judges and revokes in one statement (``sellers_revoke``): no seller's
    requirements or reasons go through Python."""
    sellers = Seller.objects.all() if seller_ids is None else Seller.objects.filter(pk__in=list(seller_ids))
    result = EvaluationResult(evaluated=sellers.count())
    result.revoked = sellers_revoke(day=day, seller_ids=seller_ids, snapshots_from=snapshots_from)
    return result


@transaction.atomic
def sellers_revoke(
    *, day: dt.date, seller_ids: Sequence[int] | None = None, snapshots_from: dt.datetime | None = None
) -> list[int]:
    """Revoke the Prime eligibility of the eligible sellers (all when None) failing a metric
    of D or a requirement; returns their ids. One statement (``metrics.sql.sellers_revoke``)
    finds their reasons, sets their status and writes their status history entries with the
    reasons as ``MetricReason`` and ``RequirementReason`` record them (a test holds the two
    equal), in the shape ``SellerEvent.entry`` gives a revocation.

    Never on numbers that predate a reinstatement (SPEC section 4): a seller reinstated after
    the end of D (the reinstatement answered the failures before it), or whose status changed
    after D's snapshots were computed (``snapshots_from``: a reviewer approved between the
    counting and the evaluation), is judged again the next day.

    A compare-and-set for the whole chunk: the rows are locked and re-read, so of two
    evaluations at once the second finds them already not eligible, and each seller is
    revoked, recorded and emailed once. The revocation turns the Prime badge off from its
    moment: orders placed from then on are not Prime orders (SPEC section 3).
    """
    now = timezone.now()
    # The shape of a revocation's entry, decided in one place; the statement adds each
    # seller's id and reasons.
    entry = SellerEvent.entry(seller_id=0, kind=SellerEvent.Kind.REVOKED, moment=now, day=day)
    if entry.actor_id is not None:
        raise RuntimeError("The daily run revokes as the portal itself, with no actor.")
    params = {
        "day": day,
        "now": now,
        "sellers": None if seller_ids is None else list(seller_ids),
        "snapshots_from": snapshots_from or now,
        "eligible": ProgrammeStatus.ELIGIBLE.value,
        "not_eligible": ProgrammeStatus.NOT_ELIGIBLE.value,
        "reinstated": SellerEvent.Kind.REINSTATED.value,
        "action": entry.action,
        "summary": entry.summary,
        "before": json.dumps(entry.before),
        "after": json.dumps(entry.after),
        "reason": entry.reason,
    }
    with connection.cursor() as cursor, planner_settings(cursor, statements.REVOCATION_SETTINGS):
        cursor.execute(statements.sellers_revoke(some_sellers=seller_ids is not None), params)
        rows = cursor.fetchall()
    if not rows:
        return []
    revoked = [seller_id for seller_id, _entry, _zone in rows]
    zones = {zone_name for _seller, _entry, zone_name in rows}
    # Orders already stored with a purchase after this moment are no longer Prime orders.
    orders_classify_prime(seller_ids=revoked, since=min(local_date(now, zone(tz)) for tz in zones))
    from metrics.tasks import send_revocation_emails

    send_revocation_emails.delay_on_commit([entry_id for _seller, entry_id, _zone in rows])
    webhook_events.status_changed_emit(seller_ids=revoked, day=day)
    logger.info("Revoked %d sellers on %s", len(revoked), day)
    return revoked


def sellers_entered_at_risk(*, day: dt.date, seller_ids: Sequence[int] | None = None) -> list[int]:
    """SPEC section 8: bring who is at risk now up to date from D's snapshots (of the sellers
    given, all when None) and return the ids of those that *entered* at-risk, each once per
    entry; the caller tells them (email, ``seller.at_risk`` webhook). Run after D's snapshots
    and evaluation (a seller revoked by it is not at risk).

    Two set-based statements over the chunk's snapshot rows (per seller, not per order):
    sellers no longer at risk are forgotten, sellers at risk are recorded
    (``SellerAtRisk``), those already recorded conflict and are not returned. So recomputing
    a day returns nobody again, and a seller that left at-risk and comes back is returned
    again. Only a seller's latest computed day counts: recomputing an earlier day changes
    nothing."""
    params = {"day": day, "now": timezone.now(), "sellers": None if seller_ids is None else list(seller_ids)}
    some_sellers = seller_ids is not None
    # The entry and its news in one transaction: were the webhook deliveries not written (a
    # lost connection), the entry would be committed without them and a retry, finding the
    # seller recorded, would never send them; now the retry finds it entering again.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statements.at_risk_leave(some_sellers=some_sellers), params)
            cursor.execute(statements.at_risk_enter(some_sellers=some_sellers), params)
            entered = sorted(row[0] for row in cursor.fetchall())
        if entered:
            from metrics.tasks import send_at_risk_emails

            send_at_risk_emails.delay_on_commit(entered, day.isoformat())
            webhook_events.at_risk_entered_emit(seller_ids=entered, day=day)
    if entered:
        logger.info("%d sellers entered at-risk on %s", len(entered), day)
    return entered


@dataclass
class DailyRunResult:
    day: dt.date
    evaluated: int = 0
    snapshots: int = 0
    revoked: list[int] = field(default_factory=list)
    # Sellers that entered at-risk with D (SPEC section 8): told once per entry.
    entered_at_risk: list[int] = field(default_factory=list)
    # Sellers left out because D had not ended in their zone yet, and when it will have.
    waiting: list[int] = field(default_factory=list)
    waiting_until: dt.datetime | None = None


def chunk_evaluate(*, day: dt.date, seller_ids: Sequence[int] | None) -> DailyRunResult:
    """Snapshots then evaluation for one chunk of sellers: the unit of work of a worker.

    Only sellers for whom D has ended in their own zone are computed (SPEC section 4), so no
    path (the schedule, a retry, ``run_daily --date``) judges a day before its end; the
    others are returned as waiting, with the moment D will have ended for all of them."""
    started = timezone.now()
    readiness = sellers_readiness(day=day, seller_ids=seller_ids, now=started)
    if not readiness.ready:
        return DailyRunResult(day=day, waiting=readiness.waiting, waiting_until=readiness.waiting_until)
    if not readiness.waiting and seller_ids is None:
        ready: Sequence[int] | None = None  # every seller: the unfiltered queries
    else:
        ready = readiness.ready
    written = snapshots_compute(day=day, seller_ids=ready)
    evaluation = sellers_evaluate(day=day, seller_ids=ready, snapshots_from=started)
    webhook_events.snapshot_computed_emit(day=day, seller_ids=ready)
    entered_at_risk = sellers_entered_at_risk(day=day, seller_ids=ready)
    return DailyRunResult(
        day=day,
        evaluated=evaluation.evaluated,
        snapshots=written,
        revoked=evaluation.revoked,
        entered_at_risk=entered_at_risk,
        waiting=readiness.waiting,
        waiting_until=readiness.waiting_until,
    )


def seller_id_chunks(chunk_size: int, seller_ids: Sequence[int] | None = None) -> list[list[int]]:
    """The sellers (all when None) in id order, in chunks of ``chunk_size``."""
    ids = list(Seller.objects.order_by("pk").values_list("pk", flat=True)) if seller_ids is None else list(seller_ids)
    return [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]


def daily_run(
    *,
    day: dt.date,
    chunk_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DailyRunResult:
    """Compute and evaluate D for every seller, synchronously, with the same code the
    scheduled Celery job runs per chunk. Without ``chunk_size`` all sellers form one chunk."""
    total = DailyRunResult(day=day)
    chunks = seller_id_chunks(chunk_size) if chunk_size else [None]
    for done, chunk in enumerate(chunks, start=1):
        part = chunk_evaluate(day=day, seller_ids=chunk)
        total.evaluated += part.evaluated
        total.snapshots += part.snapshots
        total.revoked.extend(part.revoked)
        total.entered_at_risk.extend(part.entered_at_risk)
        total.waiting.extend(part.waiting)
        if part.waiting_until:
            total.waiting_until = max(total.waiting_until or part.waiting_until, part.waiting_until)
        if progress:
            progress(done, len(chunks))
    return total


class ThresholdError(ValueError):
    """A threshold change that cannot be made; the message says why and what to do."""


def threshold_change_check(*, metric: str, value: Decimal, effective_from: dt.date | None) -> dt.date:
    """The first day a threshold change can take effect, or ``ThresholdError`` saying why
    not: a known metric, a fraction from 0 to 1 with at most five decimals, from today (the
    portal's; the default) on and after every day already judged for any seller, so no
    judged day's verdict can change (SPEC section 3). The admin's form and ``threshold_set``
    ask it."""
    if metric not in METRIC_DEFINITIONS:
        raise ThresholdError(
            _("%(metric)s is not a metric; use one of: %(metrics)s.")
            % {"metric": metric, "metrics": ", ".join(METRICS)}
        )
    exponent = value.as_tuple().exponent  # an int exactly when the value is finite
    if not isinstance(exponent, int) or exponent < -THRESHOLD_DECIMALS:
        raise ThresholdError(
            _("%(value)s: a threshold is a fraction from 0 to 1 with at most 5 decimals, e.g. 0.93456.")
            % {"value": value}
        )
    today = timezone.localdate()
    effective_from = effective_from or today
    if effective_from < today:
        raise ThresholdError(
            _(
                "A threshold cannot change for %(day)s: days before today (%(today)s) may already be judged. "
                "Choose today or a later date."
            )
            % {"day": effective_from.isoformat(), "today": today.isoformat()}
        )
    latest_judged = DailySnapshot.objects.aggregate(latest=Max("day"))["latest"]
    if latest_judged is not None and effective_from <= latest_judged:
        raise ThresholdError(
            _("A threshold cannot change for %(day)s: %(judged)s is already judged. Choose %(next)s or a later date.")
            % {
                "day": effective_from.isoformat(),
                "judged": latest_judged.isoformat(),
                "next": (latest_judged + dt.timedelta(days=1)).isoformat(),
            }
        )
    if not Decimal(0) <= value <= Decimal(1):
        raise ThresholdError(
            _("%(value)s: a threshold is a fraction from 0 to 1 with at most 5 decimals, e.g. 0.93456.")
            % {"value": value}
        )
    return effective_from


@transaction.atomic
def threshold_set(
    *, metric: str, value: Decimal, effective_from: dt.date | None = None, changed_by: User | None = None
) -> ThresholdChange | None:
    """Change a metric's threshold from ``effective_from`` on (default: today in the portal's
    time zone), keeping the change with who and when (SPEC section 3). Earlier days keep
    theirs (``threshold_change_check``). Returns None when the value is already the one in
    force from that day."""
    effective_from = threshold_change_check(metric=metric, value=value, effective_from=effective_from)
    # One change at a time: the previous value is read under the lock.
    with connection.cursor() as cursor:
        cursor.execute(statements.threshold_lock())
    old_value = thresholds_in_force(effective_from)[metric]
    if Decimal(old_value) == Decimal(value):
        return None
    entry = ThresholdChange.entry(
        metric=metric, old_value=old_value, new_value=value, effective_from=effective_from, changed_by=changed_by
    )
    entry.save()
    return ThresholdChange.objects.get(pk=entry.pk)


# ---------------------------------------------------------------------------------------
# Plans of action and reinstatement (SPEC section 4)
# ---------------------------------------------------------------------------------------

PLAN_ANSWERS = ("root_cause", "corrective_actions", "preventive_measures", "timeframe")


class PlanError(Exception):
    """A plan action that cannot be done in the plan's or seller's current state; the
    message is a sentence for the person who tried."""


class PlanAlreadyDecided(PlanError):
    pass


def plan_failing_items(*, seller: Seller) -> list[RevocationReason]:
    """What the seller must answer for: the reasons of its last revocation."""
    latest = seller_latest_revocation(seller=seller)
    return revocation_reasons_from_json(latest.reasons) if latest else []


@transaction.atomic
def plan_draft_save(*, seller: Seller, user: User, answers: dict[str, str]) -> PlanDraft:
    """Keep what the seller has written so far, so a lost session loses nothing."""
    draft, _created = PlanDraft.objects.update_or_create(
        seller=seller,
        defaults={name: (answers.get(name) or "") for name in PLAN_ANSWERS} | {"updated_by": user},
    )
    return draft


@transaction.atomic
def plan_submit(*, seller: Seller, user: User, merchant_token: str, **answers: str) -> PlanOfAction:
    """Submit a plan of action for review (SPEC section 4): only while not eligible, only
    with the seller's own merchant token, and only one open plan at a time."""
    locked = Seller.objects.select_for_update().get(pk=seller.pk)
    submission = plan_submission(status=locked.status, open_plan=seller_open_plan(seller=locked))
    if submission.eligible:
        raise PlanError(_("Your account is eligible for Prime: there is nothing to reinstate."))
    if merchant_token.strip().upper() != locked.merchant_token:
        raise PlanError(_("The merchant token does not match your account; type it as shown on your dashboard."))
    if submission.open_plan is not None:
        raise PlanError(_("A plan of action of yours is already under review; wait for its decision."))
    now = timezone.now()
    plan = PlanOfAction.objects.create(
        seller=locked,
        failing_items=reasons_to_json(plan_failing_items(seller=locked)),
        submitted_by=user,
        submitted_at=now,
        **{name: answers[name].strip() for name in PLAN_ANSWERS},
    )
    PlanDraft.objects.filter(seller=locked).delete()
    audit_entry_create(
        seller=locked,
        actor=user,
        action=AuditEntry.Action.PLAN_SUBMITTED,
        summary="",
        before=None,
        after={"plan": plan.pk, "status": plan.status, "failing_items": plan.failing_items},
        now=now,
    )
    from metrics.tasks import send_plan_submitted_emails

    send_plan_submitted_emails.delay_on_commit(plan.pk)
    return plan


def decision_compare_and_set(
    model: type[PlanOfAction] | type[Incident],
    pk: int,
    *,
    already_decided: type[Exception],
    message: str,
    **decision: object,
) -> None:
    """Record a reviewer's decision on a submitted plan or incident: one UPDATE that moves it
    from submitted only if it is still submitted. Of two reviewers acting at once, the second
    UPDATE waits for the first's row lock, then finds it decided and changes nothing: it gets
    ``already_decided`` with ``message``, which names the status now (``%(status)s``)."""
    if model.objects.filter(pk=pk, status=model.Status.SUBMITTED).update(**decision):
        return
    current = model.objects.filter(pk=pk).values_list("status", flat=True).first()
    label = model.Status(current).label if current else _("deleted")
    raise already_decided(message % {"status": label})


def _plan_decide(*, plan: PlanOfAction, reviewer: User, status: str, feedback: str) -> PlanOfAction:
    """Compare-and-set: the plan moves from submitted to ``status`` only if it is still
    submitted. Of two reviewers acting at once, the second UPDATE waits for the first's row
    lock, then finds the plan decided and changes nothing."""
    if not can_review_plans(reviewer):
        raise PlanError(_("Only programme staff with the review permission decide plans of action."))
    if reviewer.seller_id is not None and reviewer.seller_id == plan.seller_id:
        raise PlanError(_("You cannot decide a plan of action of your own seller account."))
    now = timezone.now()
    decision_compare_and_set(
        PlanOfAction,
        plan.pk,
        already_decided=PlanAlreadyDecided,
        message=_("This plan was decided by someone else a moment ago (now: %(status)s); nothing was changed."),
        status=status,
        decided_by=reviewer,
        decided_at=now,
        feedback=feedback,
    )
    plan.refresh_from_db()
    audit_entry_create(
        seller=plan.seller,
        actor=reviewer,
        action=AuditEntry.Action.PLAN_DECIDED,
        summary="",
        before={"plan": plan.pk, "status": PlanOfAction.Status.SUBMITTED},
        after={"plan": plan.pk, "status": status},
        reason=feedback,
        now=now,
    )
    from metrics.tasks import send_plan_decided_emails

    send_plan_decided_emails.delay_on_commit(plan.pk)
    webhook_events.plan_decided_emit(plan=plan)
    return plan


@transaction.atomic
def plan_approve(*, plan: PlanOfAction, reviewer: User, feedback: str = "") -> PlanOfAction:
    """Approve the plan and reinstate the seller: eligible again, recorded with who and
    when; the evaluation start becomes the local date of the reinstatement (SPEC section 4)."""
    plan = _plan_decide(plan=plan, reviewer=reviewer, status=PlanOfAction.Status.APPROVED, feedback=feedback.strip())
    if plan.decided_at is None:  # _plan_decide's UPDATE sets it with the status
        raise RuntimeError(f"Plan of action {plan.pk} was approved without a decision moment.")
    seller_reinstate(seller=plan.seller, reviewer=reviewer, reason=PlanReason(plan=plan.pk), moment=plan.decided_at)
    return plan


@transaction.atomic
def plan_reject(*, plan: PlanOfAction, reviewer: User, feedback: str) -> PlanOfAction:
    """Reject the plan with the reviewer's feedback (required); the seller stays not
    eligible and may submit a new plan."""
    feedback = (feedback or "").strip()
    if not feedback:
        raise PlanError(_("Write the feedback the seller needs to improve the plan; a rejection requires it."))
    return _plan_decide(plan=plan, reviewer=reviewer, status=PlanOfAction.Status.REJECTED, feedback=feedback)


@transaction.atomic
def seller_reinstate(
    *, seller: Seller, reviewer: User | None, reason: ReinstatementReason | None, moment: dt.datetime
) -> Seller:
    """Eligible again from ``moment`` (SPEC sections 4 and 7), for ``reason``: the plan of
    action or the incident staff approved. The reinstatement joins the status history,
    becomes the evaluation start of every D from its local date on, turns the Prime badge
    back on for orders placed from then on, and is sent as ``seller.status_changed``; the
    caller's decision email is the reinstatement email."""
    seller = Seller.objects.select_for_update().get(pk=seller.pk)
    reinstated_on = seller.local_date(moment)
    seller.status = ProgrammeStatus.ELIGIBLE
    seller.status_changed_at = moment
    seller.save(update_fields=["status", "status_changed_at"])
    SellerEvent.entry(
        seller_id=seller.pk,
        kind=SellerEvent.Kind.REINSTATED,
        moment=moment,
        actor=reviewer,
        reasons=[reason.to_json()] if reason else [],
        details={"reinstated_on": reinstated_on.isoformat()},
    ).save()
    orders_classify_prime(seller_ids=[seller.pk], since=reinstated_on)
    webhook_events.status_changed_emit(seller_ids=[seller.pk])
    logger.info("Reinstated seller %s on %s", seller.pk, reinstated_on)
    return seller


# ---------------------------------------------------------------------------------------
# Incidents (SPEC section 7)
# ---------------------------------------------------------------------------------------


class IncidentError(Exception):
    """An incident action (a report, a decision) that cannot be done in the seller's or
    incident's current state, or with what was chosen; the message is a sentence for the
    person who tried."""


class IncidentFailed(IncidentError):
    """The database failed during a report or a decision (a lost connection, a deadlock, a
    lock not granted): its transaction was rolled back, so nothing of it was written and
    nobody is emailed or sent a webhook. The message says so, and to try again."""


@contextmanager
def _database_failure_told(sentence: str) -> Iterator[None]:
    """Around a whole transaction (outside its ``atomic``, so it has been rolled back when the
    failure is told): a database failure becomes ``IncidentFailed(sentence)``; the database's
    own words go to the log, not to the seller or reviewer."""
    try:
        yield
    except DatabaseFailure as exc:
        logger.exception("Incident action failed in the database; nothing was written")
        raise IncidentFailed(sentence) from exc


def incident_audit_facts(incident: Incident) -> dict:
    """An incident's facts as its audit entries keep them (the keys are worded in
    ``metrics.presenters.audit``)."""
    return {
        "incident": incident.pk,
        "status": incident.status,
        "incident_kind": incident.kind,
        "carrier": incident.carrier,
        "start_date": incident.start_date.isoformat(),
        "end_date": incident.end_date.isoformat(),
        "description": incident.description,
        "order_ids": list(incident.order_ids),
    }


def incident_submit(
    *,
    seller: Seller,
    user: User | None,
    kind: str,
    carrier: str,
    start_date: dt.date,
    end_date: dt.date,
    description: str,
    order_ids: Sequence[str],
) -> Incident:
    """Report an incident for review (SPEC section 7), as ``metrics.forms.IncidentForm``
    validated it. Under the seller's row lock, so two reports at once cannot both pass the
    bound of ``INCIDENT_MAX_OPEN`` incidents waiting for a decision; audited in the same
    transaction; the reviewers are emailed once it is committed. ``IncidentFailed`` when the
    database fails: nothing is reported."""
    with _database_failure_told(
        _(
            "The database failed while your incident was being reported, so nothing was reported. Send the report "
            "again in a moment."
        )
    ):
        return _incident_submit(
            seller=seller,
            user=user,
            kind=kind,
            carrier=carrier,
            start_date=start_date,
            end_date=end_date,
            description=description,
            order_ids=order_ids,
        )


@transaction.atomic
def _incident_submit(
    *,
    seller: Seller,
    user: User | None,
    kind: str,
    carrier: str,
    start_date: dt.date,
    end_date: dt.date,
    description: str,
    order_ids: Sequence[str],
) -> Incident:
    locked = Seller.objects.select_for_update().get(pk=seller.pk)
    if seller_open_incident_count(seller=locked) >= INCIDENT_MAX_OPEN:
        raise IncidentError(open_incidents_full_sentence())
    now = timezone.now()
    incident = Incident.objects.create(
        seller=locked,
        kind=kind,
        carrier=carrier,
        start_date=start_date,
        end_date=end_date,
        description=description.strip(),
        order_ids=list(order_ids),
        submitted_by=user,
        submitted_at=now,
    )
    audit_entry_create(
        seller=locked,
        actor=user,
        action=AuditEntry.Action.INCIDENT_SUBMITTED,
        summary="",
        before=None,
        after=incident_audit_facts(incident),
        now=now,
    )
    from metrics.tasks import send_incident_submitted_emails

    send_incident_submitted_emails.delay_on_commit(incident.pk)
    return incident


class IncidentAlreadyDecided(IncidentError):
    pass


def _incident_reviewer_check(*, incident: Incident, reviewer: User) -> None:
    if not can_review_plans(reviewer):
        raise IncidentError(_("Only programme staff with the review permission decide incidents."))
    if reviewer.seller_id is not None and reviewer.seller_id == incident.seller_id:
        raise IncidentError(_("You cannot decide an incident of your own seller account."))


def _incident_note(note: str) -> str:
    note = (note or "").strip()
    if "\x00" in note:
        raise IncidentError(
            _("The note contains a NUL character, which cannot be stored. Remove it (retype the text).")
        )
    if len(note) > INCIDENT_NOTE_MAX:
        raise IncidentError(
            _("The note has %(length)s characters; shorten it to at most %(maximum)s.")
            % {"length": len(note), "maximum": INCIDENT_NOTE_MAX}
        )
    return note


def _excused_metrics(metrics: Sequence[str]) -> list[str]:
    """The metrics an approval excuses, in the registry's order: a non-empty subset of
    ``EXCUSABLE_METRICS``."""
    unknown = [name for name in metrics if name not in EXCUSABLE_METRICS]
    if unknown:
        raise IncidentError(
            _("%(unknown)s: an incident excuses only these metrics: %(metrics)s.")
            % {
                "unknown": ", ".join(excerpt(str(name)) for name in unknown[:5]),
                "metrics": ", ".join(EXCUSABLE_METRICS),
            }
        )
    chosen = [name for name in EXCUSABLE_METRICS if name in set(metrics)]
    if not chosen:
        raise IncidentError(
            _("Choose at least one metric the incident excuses; an approval without one excuses nothing.")
        )
    return chosen


def _incident_decide(
    *, incident: Incident, reviewer: User, status: str, metrics: list[str], note: str, now: dt.datetime
) -> Incident:
    """Compare-and-set, as ``_plan_decide``: the incident moves from submitted to ``status``
    only if it is still submitted, so of two reviewers acting at once the second waits for
    the first's row lock, finds it decided and changes nothing. Audited in the transaction."""
    decision_compare_and_set(
        Incident,
        incident.pk,
        already_decided=IncidentAlreadyDecided,
        message=_("This incident was decided by someone else a moment ago (now: %(status)s); nothing was changed."),
        status=status,
        decided_by=reviewer,
        decided_at=now,
        excused_metrics=metrics,
        note=note,
    )
    incident.refresh_from_db()
    audit_entry_create(
        seller=incident.seller,
        actor=reviewer,
        action=AuditEntry.Action.INCIDENT_DECIDED,
        summary="",
        before={"incident": incident.pk, "status": Incident.Status.SUBMITTED},
        after={"incident": incident.pk, "status": status, "excused_metrics": metrics},
        reason=note,
        now=now,
    )
    return incident


def _incident_decided_tell(incident: Incident) -> None:
    """The seller's users by email once the decision commits, its webhooks with it."""
    from metrics.tasks import send_incident_decided_emails

    send_incident_decided_emails.delay_on_commit(incident.pk)
    webhook_events.incident_decided_emit(incident=incident)


def _reinstatement_refusal(*, seller: Seller, unanswered: Sequence[RevocationReason], eligible: bool) -> str:
    if eligible:
        return _(
            "%(seller)s is eligible for Prime already: there is nothing to reinstate. "
            "Approve the incident without reinstating."
        ) % {"seller": seller.name}
    return _(
        "Approving this incident for the chosen metrics does not answer every failing item of %(seller)s's "
        "revocation (still failing: %(items)s), so it cannot reinstate the seller; nothing was changed. "
        "Approve without reinstating, or choose the metrics that answer them."
    ) % {"seller": seller.name, "items": ", ".join(reason_label(reason) for reason in unanswered) or "—"}


def _incident_reinstate(*, incident: Incident, reviewer: User) -> None:
    """Reinstate the seller at once for the approved ``incident`` (SPEC section 7), checked
    again here under the seller's row lock with the metrics it was approved for; a plan of
    action still under review is closed as withdrawn in the same transaction, audited.

    The seller's open plan is locked before the seller's row, the order ``plan_approve``
    takes them in, so a plan approved at the same moment waits instead of deadlocking, and
    this then finds the seller eligible and refuses."""
    open_plans = list(
        PlanOfAction.objects.select_for_update()
        .filter(seller_id=incident.seller_id, status=PlanOfAction.Status.SUBMITTED)
        .order_by("pk")
    )
    seller = Seller.objects.select_for_update().get(pk=incident.seller_id)
    check = incident_reinstatement(incident=incident, metrics=incident.excused_metrics, seller=seller)
    if not check.possible:
        raise IncidentError(_reinstatement_refusal(seller=seller, unanswered=check.unanswered, eligible=check.eligible))
    if incident.decided_at is None:  # _incident_decide's UPDATE sets it with the status
        raise RuntimeError(f"Incident {incident.pk} was approved without a decision moment.")
    seller_reinstate(
        seller=seller, reviewer=reviewer, reason=IncidentReason(incident=incident.pk), moment=incident.decided_at
    )
    for plan in open_plans:
        PlanOfAction.objects.filter(pk=plan.pk).update(
            status=PlanOfAction.Status.WITHDRAWN, decided_by=reviewer, decided_at=incident.decided_at
        )
        plan.refresh_from_db()
        audit_entry_create(
            seller=seller,
            actor=reviewer,
            action=AuditEntry.Action.PLAN_DECIDED,
            summary="",
            before={"plan": plan.pk, "status": PlanOfAction.Status.SUBMITTED},
            after={"plan": plan.pk, "status": PlanOfAction.Status.WITHDRAWN, "incident": incident.pk},
            now=incident.decided_at,
        )
        webhook_events.plan_decided_emit(plan=plan)


# What a reviewer reads when the database fails during a decision.
_DECISION_FAILED = gettext_lazy(
    "The database failed while the decision was being saved, so nothing was changed: the incident is still "
    "waiting for a decision. Decide it again in a moment."
)


def incident_approve(
    *, incident: Incident, reviewer: User, metrics: Sequence[str], note: str = "", reinstate: bool = False
) -> Incident:
    """Approve the incident for ``metrics`` (a non-empty subset of ``EXCUSABLE_METRICS``):
    from the local date of the approval on, it excuses their defects on the orders it covers
    (SPEC section 7: as of D it counts once approved by the end of D). With ``reinstate`` the
    seller is reinstated at once, when the approval answers every failing item of its
    revocation (``metrics.selectors.incident_reinstatement``), else nothing is changed.
    Audited, emailed and sent as ``incident.decided``. ``IncidentFailed`` when the database
    fails: nothing is decided, reinstated, emailed or sent."""
    with _database_failure_told(str(_DECISION_FAILED)):
        return _incident_approve(incident=incident, reviewer=reviewer, metrics=metrics, note=note, reinstate=reinstate)


@transaction.atomic
def _incident_approve(
    *, incident: Incident, reviewer: User, metrics: Sequence[str], note: str, reinstate: bool
) -> Incident:
    _incident_reviewer_check(incident=incident, reviewer=reviewer)
    chosen = _excused_metrics(metrics)
    note = _incident_note(note)
    incident = _incident_decide(
        incident=incident,
        reviewer=reviewer,
        status=Incident.Status.APPROVED,
        metrics=chosen,
        note=note,
        now=timezone.now(),
    )
    if reinstate:
        _incident_reinstate(incident=incident, reviewer=reviewer)
    _incident_decided_tell(incident)
    return incident


def incident_reject(*, incident: Incident, reviewer: User, note: str) -> Incident:
    """Reject the incident with the reviewer's note (required): it excuses nothing.
    ``IncidentFailed`` when the database fails: nothing is decided or emailed."""
    with _database_failure_told(str(_DECISION_FAILED)):
        return _incident_reject(incident=incident, reviewer=reviewer, note=note)


@transaction.atomic
def _incident_reject(*, incident: Incident, reviewer: User, note: str) -> Incident:
    _incident_reviewer_check(incident=incident, reviewer=reviewer)
    note = _incident_note(note)
    if not note:
        raise IncidentError(
            _("Write a note that tells the seller why the incident is rejected; a rejection requires it.")
        )
    incident = _incident_decide(
        incident=incident, reviewer=reviewer, status=Incident.Status.REJECTED, metrics=[], note=note, now=timezone.now()
    )
    _incident_decided_tell(incident)
    return incident
