"""The sellers at risk now (SPEC section 8), so the daily run knows when a seller enters at-risk
and its email goes out once per entry, not daily."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('metrics', '0008_threshold_changes_in_the_audit'),
        ('sellers', '0008_status_history_in_the_audit'),
    ]

    operations = [
        migrations.CreateModel(
            name='SellerAtRisk',
            fields=[
                ('seller', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='at_risk', serialize=False, to='sellers.seller')),
                ('since', models.DateField(verbose_name='at risk since')),
                ('entered_at', models.DateTimeField(verbose_name='entered at')),
            ],
            options={
                'verbose_name': 'seller at risk',
                'verbose_name_plural': 'sellers at risk',
            },
        ),
    ]
