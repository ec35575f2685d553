"""Thresholds become effective-dated (SPEC section 3): each ThresholdChange holds a value from
a date on, and the Threshold table (one current value per metric) goes, its values joining
the history. The status history's model moves to the sellers app (sellers 0005 renamed its
table; here it only leaves this app's state). Snapshot units become 64-bit, so no window's
sum can overflow a column; the per-metric view is dropped and made again around that.
"""

import datetime as dt
import zoneinfo

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


# Frozen here, as the migration must not change when the code does.
WINDOWS = (7, 30)
METRICS = (
    "on_time_shipment_rate",
    "on_time_delivery_rate",
    "buy_shipping_rate",
    "cancellation_rate",
    "valid_tracking_rate",
    "one_day_delivery_speed",
    "two_day_delivery_speed",
)
DEFAULT_THRESHOLDS = {
    "on_time_shipment_rate": "0.99",
    "on_time_delivery_rate": "0.935",
    "buy_shipping_rate": "0.99",
    "cancellation_rate": "0.005",
    "valid_tracking_rate": "0.99",
    "one_day_delivery_speed": "0.30",
    "two_day_delivery_speed": "0.74",
}
# Before any seller's first day: a value in force from here on holds for every day.
ALWAYS = dt.date(2000, 1, 1)


def _view_sql() -> str:
    """The view of migration 0004, a row per (window, metric) of every daily snapshot."""
    selects = [
        f"SELECT d.id * 16 + {position} AS id, d.id AS daily_snapshot_id, d.seller_id, d.day, "
        f"{window} AS window_days, '{metric}' AS metric, d.population_{window}_{metric} AS population_units, "
        f"d.defects_{window}_{metric} AS defect_units, d.protected_{window}_{metric} AS protected_units, "
        f"d.threshold_{metric} AS threshold, d.passing_{window}_{metric} AS passing, d.computed_at "
        "FROM metrics_dailysnapshot d"
        for position, (window, metric) in enumerate((w, m) for w in WINDOWS for m in METRICS)
    ]
    return "CREATE VIEW metrics_metricsnapshot AS " + " UNION ALL ".join(selects)


def thresholds_into_history(apps, schema_editor):
    """Each recorded change takes effect on its local date in the portal's zone (the day its
    value first judged); the value a metric had before its first change (or, never changed,
    the one stored) holds from ALWAYS when it is not the default."""
    from decimal import Decimal

    from django.conf import settings

    Threshold = apps.get_model("metrics", "Threshold")
    ThresholdChange = apps.get_model("metrics", "ThresholdChange")
    portal_zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    stored = dict(Threshold.objects.values_list("metric", "value"))
    for metric in METRICS:
        changes = list(ThresholdChange.objects.filter(metric=metric).order_by("changed_at", "id"))
        for change in changes:
            change.effective_from = change.changed_at.astimezone(portal_zone).date()
            change.save(update_fields=["effective_from"])
        first = changes[0].old_value if changes else stored.get(metric)
        if first is not None and Decimal(first) != Decimal(DEFAULT_THRESHOLDS[metric]):
            ThresholdChange.objects.create(
                metric=metric,
                old_value=Decimal(DEFAULT_THRESHOLDS[metric]),
                new_value=first,
                effective_from=ALWAYS,
                changed_at=changes[0].changed_at if changes else dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
            )


UNIT_COLUMNS = [f"{kind}_{w}_{m}" for w in WINDOWS for m in METRICS for kind in ("population", "defects", "protected")]


def _alter_units(schema_editor, column_type: str) -> None:
    changes = ", ".join(f"ALTER COLUMN {column} TYPE {column_type}" for column in UNIT_COLUMNS)
    schema_editor.execute(f"ALTER TABLE metrics_dailysnapshot {changes}")


def _widen_units(apps, schema_editor):
    _alter_units(schema_editor, "bigint")


def _narrow_units(apps, schema_editor):
    _alter_units(schema_editor, "integer")


def thresholds_from_history(apps, schema_editor):
    """Back to one value per metric: the one in force today."""
    from django.utils import timezone

    Threshold = apps.get_model("metrics", "Threshold")
    ThresholdChange = apps.get_model("metrics", "ThresholdChange")
    for metric in METRICS:
        latest = (
            ThresholdChange.objects.filter(metric=metric, effective_from__lte=timezone.localdate())
            .order_by("-effective_from", "-changed_at", "-id")
            .first()
        )
        value = latest.new_value if latest else DEFAULT_THRESHOLDS[metric]
        Threshold.objects.update_or_create(metric=metric, defaults={"value": value})


class Migration(migrations.Migration):

    dependencies = [
        ('metrics', '0005_event_seller_no_separate_index'),
        ('sellers', '0005_status_history'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name='SellerEvent')]),
        migrations.AlterModelOptions(
            name='thresholdchange',
            options={'ordering': ['-effective_from', '-changed_at', '-id'], 'verbose_name': 'threshold change', 'verbose_name_plural': 'thresholds'},
        ),
        migrations.AddField(
            model_name='thresholdchange',
            name='effective_from',
            field=models.DateField(default='2000-01-01', verbose_name='in force from'),
            preserve_default=False,
        ),
        migrations.RunSQL("DROP VIEW metrics_metricsnapshot", _view_sql()),
        # 64-bit units: one ALTER of the whole table instead of a rewrite per column.
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(_widen_units, _narrow_units)],
            state_operations=[
            migrations.AlterField(
                model_name='dailysnapshot',
                name='defects_30_buy_shipping_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='defects_30_cancellation_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='defects_30_on_time_delivery_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='defects_30_on_time_shipment_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='defects_30_one_day_delivery_speed',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='defects_30_two_day_delivery_speed',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='defects_30_valid_tracking_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='defects_7_buy_shipping_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='defects_7_cancellation_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='defects_7_on_time_delivery_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='defects_7_on_time_shipment_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='defects_7_one_day_delivery_speed',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='defects_7_two_day_delivery_speed',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='defects_7_valid_tracking_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='population_30_buy_shipping_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='population_30_cancellation_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='population_30_on_time_delivery_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='population_30_on_time_shipment_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='population_30_one_day_delivery_speed',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='population_30_two_day_delivery_speed',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='population_30_valid_tracking_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='population_7_buy_shipping_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='population_7_cancellation_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='population_7_on_time_delivery_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='population_7_on_time_shipment_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='population_7_one_day_delivery_speed',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='population_7_two_day_delivery_speed',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='population_7_valid_tracking_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='protected_30_buy_shipping_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='protected_30_cancellation_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='protected_30_on_time_delivery_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='protected_30_on_time_shipment_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='protected_30_one_day_delivery_speed',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='protected_30_two_day_delivery_speed',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='protected_30_valid_tracking_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='protected_7_buy_shipping_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='protected_7_cancellation_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='protected_7_on_time_delivery_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='protected_7_on_time_shipment_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='protected_7_one_day_delivery_speed',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='protected_7_two_day_delivery_speed',
                field=models.PositiveBigIntegerField(default=0),
            ),
            migrations.AlterField(
                model_name='dailysnapshot',
                name='protected_7_valid_tracking_rate',
                field=models.PositiveBigIntegerField(default=0),
            ),
            ],
        ),
        migrations.AlterField(
            model_name='thresholdchange',
            name='changed_at',
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name='when'),
        ),
        migrations.AlterField(
            model_name='thresholdchange',
            name='changed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='who'),
        ),
        migrations.AlterField(
            model_name='thresholdchange',
            name='new_value',
            field=models.DecimalField(decimal_places=5, help_text='A share between 0 and 1, e.g. 0.935 for 93.5 %.', max_digits=6, validators=[django.core.validators.MinValueValidator(Decimal('0')), django.core.validators.MaxValueValidator(Decimal('1'))], verbose_name='threshold'),
        ),
        migrations.AlterField(
            model_name='thresholdchange',
            name='old_value',
            field=models.DecimalField(blank=True, decimal_places=5, max_digits=6, null=True, verbose_name='threshold before'),
        ),
        migrations.AddIndex(
            model_name='thresholdchange',
            index=models.Index(fields=['metric', 'effective_from'], name='threshold_change_in_force'),
        ),
        migrations.RunPython(thresholds_into_history, thresholds_from_history),
        migrations.DeleteModel(name='Threshold'),
        migrations.RunSQL(_view_sql(), "DROP VIEW metrics_metricsnapshot"),
    ]
