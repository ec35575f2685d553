"""One history (issue 14): the threshold changes become a view of the audit history.

Every change already had its audit entry, written in the same transaction as its
``ThresholdChange`` row a moment apart; now the entry alone is written, carrying the metric,
both values and ``effective_from``, and ``metrics_thresholdchange`` is a view of those
entries. Going forward each change is matched with its entry (same metric and value, written
within a few seconds) and the entry takes the change's facts and moment; a change without
one (the value a metric had before the history, made by migration 0006) gets one. An entry
with no change (from before effective dates) stays in the audit history without
``effective_from``, so it is not a change in force. Going back, the table is rebuilt from
the entries.
"""

import datetime as dt
from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models

# The view as this migration made it (frozen here).
VIEW_SQL = """
CREATE VIEW metrics_thresholdchange AS
SELECT a.id,
       a.after ->> 'metric' AS metric,
       (a.before ->> 'threshold')::numeric(6, 5) AS old_value,
       (a.after ->> 'threshold')::numeric(6, 5) AS new_value,
       (a.after ->> 'effective_from')::date AS effective_from,
       a.actor_id AS changed_by_id,
       a.created_at AS changed_at
FROM sellers_auditentry a
WHERE a.action = 'threshold_changed' AND a.after ->> 'effective_from' IS NOT NULL
"""

NEAR = dt.timedelta(seconds=5)


def _text(value) -> str:
    return format(Decimal(value).normalize(), "f")


def _same(text, value) -> bool:
    try:
        return Decimal(str(text)) == Decimal(value)
    except ArithmeticError:
        return False


def changes_into_audit(apps, schema_editor):
    ThresholdChange = apps.get_model("metrics", "ThresholdChange")
    AuditEntry = apps.get_model("sellers", "AuditEntry")
    for change in ThresholdChange.objects.order_by("changed_at", "id"):
        before = {"metric": change.metric, "threshold": _text(change.old_value) if change.old_value is not None else None}
        after = {
            "metric": change.metric,
            "threshold": _text(change.new_value),
            "effective_from": change.effective_from.isoformat(),
        }
        candidates = (
            AuditEntry.objects.filter(
                action="threshold_changed",
                after__metric=change.metric,
                created_at__range=(change.changed_at - NEAR, change.changed_at + NEAR),
            )
            .exclude(after__has_key="effective_from")
            .order_by("created_at", "id")
        )
        entry = next((c for c in candidates if _same(c.after.get("threshold"), change.new_value)), None)
        if entry is None:
            AuditEntry.objects.create(
                seller=None,
                actor_id=change.changed_by_id,
                action="threshold_changed",
                summary="",
                before=before,
                after=after,
                created_at=change.changed_at,
            )
        else:
            entry.before, entry.after = before, after
            entry.actor_id = entry.actor_id or change.changed_by_id
            entry.created_at = change.changed_at
            entry.save(update_fields=["before", "after", "actor", "created_at"])


def changes_out_of_audit(apps, schema_editor):
    """The table again, from the entries that are changes in force."""
    ThresholdChange = apps.get_model("metrics", "ThresholdChange")
    AuditEntry = apps.get_model("sellers", "AuditEntry")
    entries = AuditEntry.objects.filter(action="threshold_changed", after__has_key="effective_from")
    ThresholdChange.objects.bulk_create(
        ThresholdChange(
            metric=entry.after["metric"],
            old_value=Decimal(entry.before["threshold"]) if (entry.before or {}).get("threshold") is not None else None,
            new_value=Decimal(entry.after["threshold"]),
            effective_from=dt.date.fromisoformat(entry.after["effective_from"]),
            changed_by_id=entry.actor_id,
            changed_at=entry.created_at,
        )
        for entry in entries.order_by("created_at", "id")
    )


class Migration(migrations.Migration):

    dependencies = [
        ('metrics', '0007_snapshot_timezone'),
        ('sellers', '0008_status_history_in_the_audit'),
    ]

    operations = [
        migrations.RunPython(changes_into_audit, changes_out_of_audit),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.DeleteModel(name='ThresholdChange')],
            state_operations=[
                migrations.RemoveIndex(model_name='thresholdchange', name='threshold_change_in_force'),
                migrations.AlterField(
                    model_name='thresholdchange',
                    name='changed_by',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='sellers.user', verbose_name='who'),
                ),
                migrations.AlterModelOptions(
                    name='thresholdchange',
                    options={'managed': False, 'ordering': ['-effective_from', '-changed_at', '-id'], 'verbose_name': 'threshold change', 'verbose_name_plural': 'thresholds'},
                ),
                migrations.AlterModelTable(name='thresholdchange', table='metrics_thresholdchange'),
            ],
        ),
        migrations.RunSQL(VIEW_SQL, "DROP VIEW metrics_thresholdchange"),
    ]
