from __future__ import annotations

from django.db import migrations


def seed_tiers(apps, schema_editor):
    from routing.tiers import DEFAULT_TIERS

    Tier = apps.get_model("routing", "Tier")
    # Only the columns this migration's model has; later migrations seed the fields they add.
    columns = {field.name for field in Tier._meta.get_fields()}
    for name, values in DEFAULT_TIERS.items():
        fields = {key: value for key, value in values.items() if key in columns}
        fields["fallbacks"] = ",".join(str(tier) for tier in fields["fallbacks"])
        Tier.objects.get_or_create(name=str(name), defaults=fields)


class Migration(migrations.Migration):
    dependencies = [("routing", "0001_initial")]
    operations = [migrations.RunPython(seed_tiers, migrations.RunPython.noop)]
