from __future__ import annotations

from django.db import migrations, models


def idle_deadline_and_backups(apps, schema_editor):
    """Existing tiers keep the stall deadline they had (the first-token one), and a tier with no
    backup gets the next tier up, so no chain ends with the tier that failed."""
    Tier = apps.get_model("routing", "Tier")
    for tier in Tier.objects.all():
        tier.idle_timeout_s = tier.first_token_timeout_s
        if not tier.fallbacks.strip():
            tier.fallbacks = "instant" if tier.name == "mini" else "mini"
        tier.save(update_fields=["idle_timeout_s", "fallbacks"])


class Migration(migrations.Migration):
    dependencies = [("routing", "0003_budget_settings")]
    operations = [
        migrations.AddField(
            model_name="tier",
            name="idle_timeout_s",
            field=models.FloatField(
                default=10.0,
                help_text="Once text flows, the longest silence between two chunks before the stream is dead.",
            ),
        ),
        migrations.AlterField(
            model_name="tier",
            name="total_timeout_s",
            field=models.FloatField(
                default=60.0,
                help_text="Bounds only a request without an output token cap; never cuts a stream that keeps sending.",
            ),
        ),
        migrations.RunPython(idle_deadline_and_backups, migrations.RunPython.noop),
        migrations.AddField(
            model_name="ledgerentry",
            name="call_id",
            field=models.CharField(max_length=32, null=True, unique=True, editable=False),
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="attempt",
            field=models.CharField(
                max_length=32, blank=True, db_index=True, help_text="The answer or summary attempt that made the call."
            ),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="outcome",
            field=models.CharField(
                choices=[
                    ("ok", "OK"),
                    ("fallback", "Failed, fell back"),
                    ("error", "Error"),
                    ("cache_hit", "Answered from cache"),
                    ("running", "In flight, or its process died mid-call"),
                ],
                db_index=True,
                max_length=16,
            ),
        ),
    ]
