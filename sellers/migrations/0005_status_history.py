"""The status history moves to the sellers app (SellerEvent, SPEC section 4): Prime orders
depend on it (sellers decides them), so it belongs beside the seller. The table is renamed,
not copied. Today's data joins the history: a seller reinstated (``reinstated_on``) or not
eligible without a matching event gets one, from its audit entries where they say when,
else from ``status_changed_at``; orders placed while a seller was not eligible stop being
Prime orders; then ``reinstated_on`` goes, since the history holds it.
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
        latest = events.last()
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
        if seller.status == "not_eligible" and (latest is None or latest.kind != "revoked"):
            moment = seller.status_changed_at or seller.created_at
            SellerEvent.objects.create(
                seller=seller, kind="revoked", day=moment.astimezone(zone).date() - dt.timedelta(days=1), created_at=moment
            )
    revoked = list(SellerEvent.objects.filter(kind="revoked").values_list("seller_id", flat=True).distinct())
    if revoked:
        # Orders placed while a seller was not eligible were counted as Prime orders; decide
        # them again by the rule itself (plain SQL over these tables, as they are now).
        from sellers.services import orders_classify_prime

        orders_classify_prime(seller_ids=revoked)


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
        migrations.RunPython(history_from_today, migrations.RunPython.noop),
        migrations.RemoveField(model_name='seller', name='reinstated_on'),
    ]
