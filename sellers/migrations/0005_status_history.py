"""The status history moves to the sellers app (SellerEvent, SPEC section 4): Prime orders
depend on it (sellers decides them), so it belongs beside the seller. The table is renamed,
not copied. Today's data joins the history: a seller reinstated (``reinstated_on``) or not
eligible without a matching event gets one, from its audit entries where they say when,
else from ``status_changed_at``; orders placed while a seller was not eligible stop being
Prime orders; then ``reinstated_on`` goes, since the history holds it (going back, it is
each seller's latest reinstatement day).
"""

import datetime as dt
import zoneinfo

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def history_from_today(apps, schema_editor):
    Seller = apps.get_model("sellers", "Seller")
    SellerEvent = apps.get_model("sellers", "SellerEvent")
    AuditEntry = apps.get_model("sellers", "AuditEntry")
    for seller in Seller.objects.all():
        zone = zoneinfo.ZoneInfo(seller.timezone)
        events = SellerEvent.objects.filter(seller=seller).order_by("created_at", "id")
        if seller.reinstated_on and not events.filter(kind="reinstated", day=seller.reinstated_on).exists():
            audited = (
                AuditEntry.objects.filter(seller=seller, action="status_changed", after__status="eligible")
                .order_by("-created_at")
                .first()
            )
            moment = (audited and audited.created_at) or seller.status_changed_at
            if moment is None or moment.astimezone(zone).date() != seller.reinstated_on:
                moment = dt.datetime.combine(seller.reinstated_on, dt.time(), tzinfo=zone)
            SellerEvent.objects.create(seller=seller, kind="reinstated", day=seller.reinstated_on, created_at=moment)
        latest = events.last()
        # The history's last word must be the seller's status (the old admin could edit it).
        if seller.status == "not_eligible" and (latest is None or latest.kind != "revoked"):
            moment = seller.status_changed_at or seller.created_at
            if latest is not None and latest.created_at > moment:
                moment = latest.created_at
            day = moment.astimezone(zone).date() - dt.timedelta(days=1)
            SellerEvent.objects.create(seller=seller, kind="revoked", day=day, created_at=moment)
        elif seller.status == "eligible" and latest is not None and latest.kind == "revoked":
            moment = max(filter(None, [seller.status_changed_at, latest.created_at]))
            SellerEvent.objects.create(
                seller=seller, kind="reinstated", day=moment.astimezone(zone).date(), created_at=moment
            )
    revoked = list(SellerEvent.objects.filter(kind="revoked").values_list("seller_id", flat=True).distinct())
    if revoked:
        # Orders placed while a seller was not eligible were counted as Prime orders.
        with schema_editor.connection.cursor() as cursor:
            for seller_id in revoked:
                cursor.execute(CLASSIFY_SQL, [seller_id])


def history_to_today(apps, schema_editor):
    """Back to one date: each seller's latest reinstatement day."""
    Seller = apps.get_model("sellers", "Seller")
    SellerEvent = apps.get_model("sellers", "SellerEvent")
    for seller in Seller.objects.all():
        latest = SellerEvent.objects.filter(seller=seller, kind="reinstated").order_by("-created_at", "-id").first()
        Seller.objects.filter(pk=seller.pk).update(reinstated_on=latest.day if latest else None)


# The Prime decision of SPEC section 3 as this migration found it (sellers.services, frozen
# here, as a migration must not change when the code does): an order placed while the badge
# was off (not eligible, or paused) or past the daily cap in force is not a Prime order.
CLASSIFY_SQL = """
    WITH controlled AS (
        SELECT o.id, o.seller_id, o.purchase_date, o.purchased_at, o.order_id, o.is_prime,
               COALESCE((
                   SELECT CASE WHEN v.paused AND (v.paused_until IS NULL OR o.purchased_at < v.paused_until)
                               THEN 1 ELSE 0 END
                   FROM sellers_volumecontrolchange v
                   WHERE v.seller_id = o.seller_id AND v.effective_at <= o.purchased_at
                   ORDER BY v.effective_at DESC, v.id DESC LIMIT 1
               ), 0) AS paused,
               COALESCE((
                   SELECT CASE WHEN e.kind = 'revoked' THEN 1 ELSE 0 END
                   FROM sellers_sellerevent e
                   WHERE e.seller_id = o.seller_id AND e.created_at <= o.purchased_at
                   ORDER BY e.created_at DESC, e.id DESC LIMIT 1
               ), 0) AS not_eligible,
               (
                   SELECT v.daily_cap
                   FROM sellers_volumecontrolchange v
                   WHERE v.seller_id = o.seller_id AND v.effective_at <= o.purchased_at
                   ORDER BY v.effective_at DESC, v.id DESC LIMIT 1
               ) AS daily_cap
        FROM sellers_order o
        WHERE o.seller_id = %s
    ),
    badge AS (
        SELECT id, seller_id, purchase_date, purchased_at, order_id, is_prime, daily_cap,
               CASE WHEN paused = 1 OR not_eligible = 1 THEN 1 ELSE 0 END AS badge_off
        FROM controlled
    ),
    ranked AS (
        SELECT id, is_prime, badge_off, daily_cap,
               COALESCE(SUM(1 - badge_off) OVER (
                   PARTITION BY seller_id, purchase_date
                   ORDER BY purchased_at, order_id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
               ), 0) AS on_before
        FROM badge
    ),
    decided AS (
        SELECT id, CASE WHEN badge_off = 0 AND (daily_cap IS NULL OR on_before < daily_cap)
                        THEN TRUE ELSE FALSE END AS prime
        FROM ranked
    )
    UPDATE sellers_order SET is_prime = d.prime
    FROM decided d
    WHERE sellers_order.id = d.id AND d.prime <> sellers_order.is_prime
"""


class Migration(migrations.Migration):

    dependencies = [
        ('sellers', '0004_audit_seller_no_separate_index'),
        ('metrics', '0005_event_seller_no_separate_index'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.CreateModel(
            name='SellerEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('revoked', 'Prime eligibility revoked'), ('reinstated', 'Prime eligibility reinstated')], max_length=20)),
                ('day', models.DateField(blank=True, null=True, verbose_name='evaluation date')),
                ('reasons', models.JSONField(blank=True, default=list)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='when')),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('seller', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='sellers.seller')),
            ],
            options={
                'verbose_name': 'status change',
                'verbose_name_plural': 'status history',
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['seller', '-created_at'], name='seller_event_recent')],
                'db_table': 'metrics_sellerevent',
            },
        )]),
        migrations.AlterModelTable(name='sellerevent', table=None),
        migrations.RunPython(history_from_today, history_to_today),
        migrations.RemoveField(model_name='seller', name='reinstated_on'),
    ]
