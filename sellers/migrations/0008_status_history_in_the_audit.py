"""One history (issue 14): the status history becomes a view of the audit history.

Every revocation and reinstatement already had its audit entry, written in the same
transaction as its ``SellerEvent`` row; now the entry alone is written and carries what the
row held (its ``kind``, the reasons and, for a revocation, the evaluation day), and
``sellers_sellerevent`` is a view of those entries. A reinstatement's day is computed from its
moment in the seller's current zone, so a change of zone no longer rewrites it.

Going forward, each event is matched with its entry (same seller and moment, same status)
and the entry is given the event's facts; an event without one (made by migration 0005 from
a status the old admin edited) gets one. An audited status change with no event (an old
admin edit) stays in the audit history without a ``kind``: it never was a revocation or a
reinstatement of the status history and does not become one. Going back, the table is
rebuilt from the entries.
"""

from django.db import migrations, models

# The view as this migration made it (frozen here: a migration must not change when the
# code does). LEFT JOIN on the seller's key, so a query that does not read ``day`` (the Prime
# decision's lookups) skips the join.
VIEW_SQL = """
CREATE VIEW sellers_sellerevent AS
SELECT a.id,
       a.seller_id,
       a.after ->> 'kind' AS kind,
       CASE WHEN a.after ->> 'kind' = 'revoked' THEN (a.after ->> 'day')::date
            ELSE (a.created_at AT TIME ZONE s.timezone)::date END AS day,
       a.actor_id,
       COALESCE(a.after -> 'reasons', '[]'::jsonb) AS reasons,
       a.created_at
FROM sellers_auditentry a
LEFT JOIN sellers_seller s ON s.id = a.seller_id
WHERE a.action = 'status_changed' AND a.after ->> 'kind' IS NOT NULL
"""

STATUS_AFTER = {"revoked": "not_eligible", "reinstated": "eligible"}


def history_into_audit(apps, schema_editor):
    SellerEvent = apps.get_model("sellers", "SellerEvent")
    AuditEntry = apps.get_model("sellers", "AuditEntry")
    for event in SellerEvent.objects.order_by("created_at", "id"):
        facts = {"kind": event.kind, "reasons": event.reasons or []}
        if event.kind == "revoked":
            facts["day"] = event.day.isoformat()
        entry = (
            AuditEntry.objects.filter(
                seller_id=event.seller_id,
                action="status_changed",
                created_at=event.created_at,
                after__status=STATUS_AFTER[event.kind],
            )
            .exclude(after__has_key="kind")
            .order_by("id")
            .first()
        )
        if entry is None:
            before = "eligible" if event.kind == "revoked" else "not_eligible"
            AuditEntry.objects.create(
                seller_id=event.seller_id,
                actor_id=event.actor_id,
                action="status_changed",
                summary="",
                before={"status": before},
                after={"status": STATUS_AFTER[event.kind], **facts},
                created_at=event.created_at,
            )
        else:
            entry.after = {**(entry.after or {}), **facts}
            entry.actor_id = entry.actor_id or event.actor_id
            entry.save(update_fields=["after", "actor"])


def history_out_of_audit(apps, schema_editor):
    """The table again, from the entries that are events; the entries keep their facts."""
    SellerEvent = apps.get_model("sellers", "SellerEvent")
    AuditEntry = apps.get_model("sellers", "AuditEntry")
    Seller = apps.get_model("sellers", "Seller")
    import zoneinfo

    zones = {pk: zoneinfo.ZoneInfo(name) for pk, name in Seller.objects.values_list("pk", "timezone")}
    entries = AuditEntry.objects.filter(action="status_changed", after__has_key="kind").order_by("created_at", "id")
    SellerEvent.objects.bulk_create(
        SellerEvent(
            seller_id=entry.seller_id,
            kind=entry.after["kind"],
            day=(
                entry.after["day"]
                if entry.after["kind"] == "revoked"
                else entry.created_at.astimezone(zones[entry.seller_id]).date()
            ),
            actor_id=entry.actor_id,
            reasons=entry.after.get("reasons") or [],
            created_at=entry.created_at,
        )
        for entry in entries
    )


class Migration(migrations.Migration):

    dependencies = [
        ('sellers', '0007_status_changes_name'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(condition=models.Q(('action', 'status_changed')), fields=['seller', '-created_at'], name='audit_status_history'),
        ),
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(condition=models.Q(('action', 'threshold_changed')), fields=['created_at'], name='audit_threshold_changes'),
        ),
        migrations.RunPython(history_into_audit, history_out_of_audit),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.DeleteModel(name='SellerEvent')],
            state_operations=[
                migrations.RemoveIndex(model_name='sellerevent', name='seller_event_recent'),
                migrations.AlterField(
                    model_name='sellerevent',
                    name='seller',
                    field=models.ForeignKey(db_index=False, on_delete=models.deletion.DO_NOTHING, related_name='events', to='sellers.seller'),
                ),
                migrations.AlterField(
                    model_name='sellerevent',
                    name='actor',
                    field=models.ForeignKey(blank=True, null=True, on_delete=models.deletion.DO_NOTHING, related_name='+', to='sellers.user'),
                ),
                migrations.AlterModelOptions(
                    name='sellerevent',
                    options={'managed': False, 'ordering': ['-created_at', '-id'], 'verbose_name': 'status change', 'verbose_name_plural': 'status changes'},
                ),
                migrations.AlterModelTable(name='sellerevent', table='sellers_sellerevent'),
            ],
        ),
        migrations.RunSQL(VIEW_SQL, "DROP VIEW sellers_sellerevent"),
    ]
