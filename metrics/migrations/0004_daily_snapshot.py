"""One snapshot row per seller and day (DailySnapshot) instead of one per metric; the old
table's rows are copied into it, and ``metrics_metricsnapshot`` becomes a view listing each
day's row as one row per (window, metric), which the pages keep reading (MetricSnapshot).

Later migrations that rebuild metrics_dailysnapshot, or change or drop one of its columns
(PostgreSQL refuses while a view uses it), must drop the view first and create it again
afterwards, with the new columns if the view should show them.

Reversible: going back rebuilds the old table (from the historical model, with its
constraints and indexes) and copies each day's figures back into a row per metric.
"""

import django.db.models.deletion
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
KEYS = [(w, m) for w in WINDOWS for m in METRICS]
UNITS = (("population", "population_units"), ("defects", "defect_units"), ("protected", "protected_units"))


def _copy_sql() -> str:
    """Pivot the old rows, a seller's day at a time (plain SQL)."""
    columns, values = [], []
    for metric in METRICS:
        columns.append(f"threshold_{metric}")
        values.append(f"COALESCE(MAX(CASE WHEN metric = '{metric}' THEN threshold END), {DEFAULT_THRESHOLDS[metric]})")
    for window, metric in KEYS:
        key = f"window_days = {window} AND metric = '{metric}'"
        for kind, old in UNITS:
            columns.append(f"{kind}_{window}_{metric}")
            values.append(f"COALESCE(MAX(CASE WHEN {key} THEN {old} END), 0)")
        columns.append(f"passing_{window}_{metric}")
        values.append(f"COALESCE(MIN(CASE WHEN {key} THEN (CASE WHEN passing THEN 1 ELSE 0 END) END), 1) = 1")
    return (
        f"INSERT INTO metrics_dailysnapshot (seller_id, day, computed_at, {', '.join(columns)}) "
        f"SELECT seller_id, day, MAX(computed_at), {', '.join(values)} "
        "FROM metrics_metricsnapshot GROUP BY seller_id, day"
    )


def _rows_sql(id_column: bool) -> str:
    """A row per (window, metric) of every daily snapshot, in KEYS order; ids stay unique."""
    selects = [
        f"SELECT {f'd.id * 16 + {position} AS id, d.id AS daily_snapshot_id, ' if id_column else ''}d.seller_id, d.day, {window} AS window_days, "
        f"'{metric}' AS metric, d.population_{window}_{metric} AS population_units, "
        f"d.defects_{window}_{metric} AS defect_units, d.protected_{window}_{metric} AS protected_units, "
        f"d.threshold_{metric} AS threshold, d.passing_{window}_{metric} AS passing, d.computed_at "
        "FROM metrics_dailysnapshot d"
        for position, (window, metric) in enumerate(KEYS)
    ]
    return " UNION ALL ".join(selects)


def _view_sql() -> str:
    return f"CREATE VIEW metrics_metricsnapshot AS {_rows_sql(id_column=True)}"


def _copy_back_sql() -> str:
    columns = "seller_id, day, window_days, metric, population_units, defect_units, protected_units, threshold"
    return (
        f"INSERT INTO metrics_metricsnapshot ({columns}, passing, computed_at) "
        f"SELECT * FROM ({_rows_sql(id_column=False)}) AS rows"
    )


def _drop_table(apps, schema_editor):
    schema_editor.execute("DROP TABLE metrics_metricsnapshot")


def _create_table(apps, schema_editor):
    """Backwards: the old table, as the historical model before this migration had it."""
    schema_editor.create_model(apps.get_model("metrics", "MetricSnapshot"))


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0003_plans_of_action"),
        ("sellers", "0003_order_seller_no_separate_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="DailySnapshot",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField(verbose_name="evaluation date")),
                ("computed_at", models.DateTimeField(auto_now=True)),
                ("threshold_on_time_shipment_rate", models.DecimalField(decimal_places=5, max_digits=6)),
                ("threshold_on_time_delivery_rate", models.DecimalField(decimal_places=5, max_digits=6)),
                ("threshold_buy_shipping_rate", models.DecimalField(decimal_places=5, max_digits=6)),
                ("threshold_cancellation_rate", models.DecimalField(decimal_places=5, max_digits=6)),
                ("threshold_valid_tracking_rate", models.DecimalField(decimal_places=5, max_digits=6)),
                ("threshold_one_day_delivery_speed", models.DecimalField(decimal_places=5, max_digits=6)),
                ("threshold_two_day_delivery_speed", models.DecimalField(decimal_places=5, max_digits=6)),
                ("population_7_on_time_shipment_rate", models.PositiveIntegerField(default=0)),
                ("defects_7_on_time_shipment_rate", models.PositiveIntegerField(default=0)),
                ("protected_7_on_time_shipment_rate", models.PositiveIntegerField(default=0)),
                ("passing_7_on_time_shipment_rate", models.BooleanField()),
                ("population_7_on_time_delivery_rate", models.PositiveIntegerField(default=0)),
                ("defects_7_on_time_delivery_rate", models.PositiveIntegerField(default=0)),
                ("protected_7_on_time_delivery_rate", models.PositiveIntegerField(default=0)),
                ("passing_7_on_time_delivery_rate", models.BooleanField()),
                ("population_7_buy_shipping_rate", models.PositiveIntegerField(default=0)),
                ("defects_7_buy_shipping_rate", models.PositiveIntegerField(default=0)),
                ("protected_7_buy_shipping_rate", models.PositiveIntegerField(default=0)),
                ("passing_7_buy_shipping_rate", models.BooleanField()),
                ("population_7_cancellation_rate", models.PositiveIntegerField(default=0)),
                ("defects_7_cancellation_rate", models.PositiveIntegerField(default=0)),
                ("protected_7_cancellation_rate", models.PositiveIntegerField(default=0)),
                ("passing_7_cancellation_rate", models.BooleanField()),
                ("population_7_valid_tracking_rate", models.PositiveIntegerField(default=0)),
                ("defects_7_valid_tracking_rate", models.PositiveIntegerField(default=0)),
                ("protected_7_valid_tracking_rate", models.PositiveIntegerField(default=0)),
                ("passing_7_valid_tracking_rate", models.BooleanField()),
                ("population_7_one_day_delivery_speed", models.PositiveIntegerField(default=0)),
                ("defects_7_one_day_delivery_speed", models.PositiveIntegerField(default=0)),
                ("protected_7_one_day_delivery_speed", models.PositiveIntegerField(default=0)),
                ("passing_7_one_day_delivery_speed", models.BooleanField()),
                ("population_7_two_day_delivery_speed", models.PositiveIntegerField(default=0)),
                ("defects_7_two_day_delivery_speed", models.PositiveIntegerField(default=0)),
                ("protected_7_two_day_delivery_speed", models.PositiveIntegerField(default=0)),
                ("passing_7_two_day_delivery_speed", models.BooleanField()),
                ("population_30_on_time_shipment_rate", models.PositiveIntegerField(default=0)),
                ("defects_30_on_time_shipment_rate", models.PositiveIntegerField(default=0)),
                ("protected_30_on_time_shipment_rate", models.PositiveIntegerField(default=0)),
                ("passing_30_on_time_shipment_rate", models.BooleanField()),
                ("population_30_on_time_delivery_rate", models.PositiveIntegerField(default=0)),
                ("defects_30_on_time_delivery_rate", models.PositiveIntegerField(default=0)),
                ("protected_30_on_time_delivery_rate", models.PositiveIntegerField(default=0)),
                ("passing_30_on_time_delivery_rate", models.BooleanField()),
                ("population_30_buy_shipping_rate", models.PositiveIntegerField(default=0)),
                ("defects_30_buy_shipping_rate", models.PositiveIntegerField(default=0)),
                ("protected_30_buy_shipping_rate", models.PositiveIntegerField(default=0)),
                ("passing_30_buy_shipping_rate", models.BooleanField()),
                ("population_30_cancellation_rate", models.PositiveIntegerField(default=0)),
                ("defects_30_cancellation_rate", models.PositiveIntegerField(default=0)),
                ("protected_30_cancellation_rate", models.PositiveIntegerField(default=0)),
                ("passing_30_cancellation_rate", models.BooleanField()),
                ("population_30_valid_tracking_rate", models.PositiveIntegerField(default=0)),
                ("defects_30_valid_tracking_rate", models.PositiveIntegerField(default=0)),
                ("protected_30_valid_tracking_rate", models.PositiveIntegerField(default=0)),
                ("passing_30_valid_tracking_rate", models.BooleanField()),
                ("population_30_one_day_delivery_speed", models.PositiveIntegerField(default=0)),
                ("defects_30_one_day_delivery_speed", models.PositiveIntegerField(default=0)),
                ("protected_30_one_day_delivery_speed", models.PositiveIntegerField(default=0)),
                ("passing_30_one_day_delivery_speed", models.BooleanField()),
                ("population_30_two_day_delivery_speed", models.PositiveIntegerField(default=0)),
                ("defects_30_two_day_delivery_speed", models.PositiveIntegerField(default=0)),
                ("protected_30_two_day_delivery_speed", models.PositiveIntegerField(default=0)),
                ("passing_30_two_day_delivery_speed", models.BooleanField()),
                (
                    "seller",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="daily_snapshots",
                        to="sellers.seller",
                    ),
                ),
            ],
            options={
                "ordering": ["seller", "-day"],
                "indexes": [models.Index(fields=["day"], name="daily_snapshot_day")],
                "constraints": [
                    models.UniqueConstraint(fields=("seller", "day"), name="daily_snapshot_unique_key"),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("defects_7_on_time_shipment_rate__lte", models.F("population_7_on_time_shipment_rate"))
                        ),
                        name="daily_snapshot_defects_le_pop_7_on_time_shipment_rate",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("defects_7_on_time_delivery_rate__lte", models.F("population_7_on_time_delivery_rate"))
                        ),
                        name="daily_snapshot_defects_le_pop_7_on_time_delivery_rate",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("defects_7_buy_shipping_rate__lte", models.F("population_7_buy_shipping_rate"))
                        ),
                        name="daily_snapshot_defects_le_pop_7_buy_shipping_rate",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("defects_7_cancellation_rate__lte", models.F("population_7_cancellation_rate"))
                        ),
                        name="daily_snapshot_defects_le_pop_7_cancellation_rate",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("defects_7_valid_tracking_rate__lte", models.F("population_7_valid_tracking_rate"))
                        ),
                        name="daily_snapshot_defects_le_pop_7_valid_tracking_rate",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("defects_7_one_day_delivery_speed__lte", models.F("population_7_one_day_delivery_speed"))
                        ),
                        name="daily_snapshot_defects_le_pop_7_one_day_delivery_speed",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("defects_7_two_day_delivery_speed__lte", models.F("population_7_two_day_delivery_speed"))
                        ),
                        name="daily_snapshot_defects_le_pop_7_two_day_delivery_speed",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("defects_30_on_time_shipment_rate__lte", models.F("population_30_on_time_shipment_rate"))
                        ),
                        name="daily_snapshot_defects_le_pop_30_on_time_shipment_rate",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("defects_30_on_time_delivery_rate__lte", models.F("population_30_on_time_delivery_rate"))
                        ),
                        name="daily_snapshot_defects_le_pop_30_on_time_delivery_rate",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("defects_30_buy_shipping_rate__lte", models.F("population_30_buy_shipping_rate"))
                        ),
                        name="daily_snapshot_defects_le_pop_30_buy_shipping_rate",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("defects_30_cancellation_rate__lte", models.F("population_30_cancellation_rate"))
                        ),
                        name="daily_snapshot_defects_le_pop_30_cancellation_rate",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("defects_30_valid_tracking_rate__lte", models.F("population_30_valid_tracking_rate"))
                        ),
                        name="daily_snapshot_defects_le_pop_30_valid_tracking_rate",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("defects_30_one_day_delivery_speed__lte", models.F("population_30_one_day_delivery_speed"))
                        ),
                        name="daily_snapshot_defects_le_pop_30_one_day_delivery_speed",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("defects_30_two_day_delivery_speed__lte", models.F("population_30_two_day_delivery_speed"))
                        ),
                        name="daily_snapshot_defects_le_pop_30_two_day_delivery_speed",
                    ),
                ],
            },
        ),
        migrations.RunSQL(_copy_sql(), _copy_back_sql()),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(_drop_table, _create_table),
                migrations.RunSQL(_view_sql(), "DROP VIEW metrics_metricsnapshot"),
            ],
            state_operations=[
                migrations.RemoveIndex(model_name="metricsnapshot", name="metric_snapshot_day_passing"),
                migrations.RemoveConstraint(model_name="metricsnapshot", name="metric_snapshot_unique_key"),
                migrations.RemoveConstraint(model_name="metricsnapshot", name="defects_le_pop"),
                migrations.AlterField(
                    model_name="metricsnapshot",
                    name="id",
                    field=models.BigIntegerField(primary_key=True, serialize=False),
                ),
                migrations.AlterField(
                    model_name="metricsnapshot",
                    name="seller",
                    field=models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="metric_snapshots",
                        to="sellers.seller",
                    ),
                ),
                migrations.AlterField(model_name="metricsnapshot", name="computed_at", field=models.DateTimeField()),
                migrations.AddField(
                    model_name="metricsnapshot",
                    name="daily_snapshot",
                    field=models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="metric_snapshots",
                        to="metrics.dailysnapshot",
                    ),
                ),
                migrations.AlterModelOptions(
                    name="metricsnapshot",
                    options={"managed": False, "ordering": ["seller", "-day", "window_days", "metric"]},
                ),
            ],
        ),
    ]
