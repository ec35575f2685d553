"""Excused units in the snapshots (SPEC section 7): each daily snapshot row gets, per (window,
metric), the defect units approved incidents excuse (0 where none can), checked together with
the protected units to stay within the defects (no unit is both), and the per-metric view
shows them as ``excused_units``.

The view depends on the table: it is dropped around the new columns and created again with
them (see migration 0004). Reversible: going back drops the columns and makes the view of
migration 0006 again. Rows computed so far excused nothing: incidents did not exist.
"""

import importlib

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
KEYS = [(w, m) for w in WINDOWS for m in METRICS]

# The view as migration 0006 makes it (and 0007 again): what going back restores.
_old_view_sql = importlib.import_module("metrics.migrations.0006_effective_thresholds_and_history_move")._view_sql


def _view_sql() -> str:
    """A row per (window, metric) of every daily snapshot, in KEYS order, with its excused units."""
    selects = [
        f"SELECT d.id * 16 + {position} AS id, d.id AS daily_snapshot_id, d.seller_id, d.day, "
        f"{window} AS window_days, '{metric}' AS metric, d.population_{window}_{metric} AS population_units, "
        f"d.defects_{window}_{metric} AS defect_units, d.protected_{window}_{metric} AS protected_units, "
        f"d.excused_{window}_{metric} AS excused_units, "
        f"d.threshold_{metric} AS threshold, d.passing_{window}_{metric} AS passing, d.computed_at "
        "FROM metrics_dailysnapshot d"
        for position, (window, metric) in enumerate(KEYS)
    ]
    return "CREATE VIEW metrics_metricsnapshot AS " + " UNION ALL ".join(selects)


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0010_incidents"),
    ]

    operations = [
        migrations.RunSQL("DROP VIEW metrics_metricsnapshot", _old_view_sql()),
        *(
            migrations.AddField(
                model_name="dailysnapshot",
                name=f"excused_{window}_{metric}",
                field=models.PositiveBigIntegerField(default=0),
            )
            for window, metric in KEYS
        ),
        *(
            migrations.AddConstraint(
                model_name="dailysnapshot",
                constraint=models.CheckConstraint(
                    condition=models.Q(
                        (
                            f"defects_{window}_{metric}__gte",
                            models.F(f"protected_{window}_{metric}") + models.F(f"excused_{window}_{metric}"),
                        )
                    ),
                    name=f"daily_snapshot_excusal_le_def_{window}_{metric}",
                ),
            )
            for window, metric in KEYS
        ),
        # The view's model is not managed: its new field is state only.
        migrations.AddField(
            model_name="metricsnapshot",
            name="excused_units",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.RunSQL(_view_sql(), "DROP VIEW metrics_metricsnapshot"),
    ]
