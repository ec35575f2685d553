"""The programme's published thresholds (SPEC section 3), so staff see and edit them."""

from decimal import Decimal

from django.db import migrations

DEFAULTS = {
    "on_time_shipment_rate": Decimal("0.99"),
    "on_time_delivery_rate": Decimal("0.935"),
    "buy_shipping_rate": Decimal("0.99"),
    "cancellation_rate": Decimal("0.005"),
    "valid_tracking_rate": Decimal("0.99"),
    "one_day_delivery_speed": Decimal("0.30"),
    "two_day_delivery_speed": Decimal("0.74"),
}


def create_defaults(apps, schema_editor):
    Threshold = apps.get_model("metrics", "Threshold")
    for metric, value in DEFAULTS.items():
        Threshold.objects.get_or_create(metric=metric, defaults={"value": value})


class Migration(migrations.Migration):
    dependencies = [("metrics", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
