"""Each daily snapshot row keeps the time zone its day was counted in, so a recomputation
after the seller changed zones leaves it as it was (SPEC section 1). Rows computed so far were
counted in the seller's current zone (zones could not change until now)."""

import importlib

from django.db import migrations, models

# The view over the table, as migration 0006 makes it: dropped around the new column (the
# portal once also ran on a database that adds a column by rebuilding the table).
_view_sql = importlib.import_module("metrics.migrations.0006_effective_thresholds_and_history_move")._view_sql


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0006_effective_thresholds_and_history_move"),
    ]

    operations = [
        migrations.RunSQL("DROP VIEW metrics_metricsnapshot", _view_sql()),
        migrations.AddField(
            model_name="dailysnapshot",
            name="timezone",
            field=models.CharField(default="", max_length=64, verbose_name="time zone"),
            preserve_default=False,
        ),
        migrations.RunSQL(
            "UPDATE metrics_dailysnapshot SET timezone = "
            "(SELECT s.timezone FROM sellers_seller s WHERE s.id = metrics_dailysnapshot.seller_id)",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(_view_sql(), "DROP VIEW metrics_metricsnapshot"),
    ]
