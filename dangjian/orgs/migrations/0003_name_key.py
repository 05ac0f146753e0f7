from django.db import migrations, models

BATCH = 5000


def fill_name_keys(apps, schema_editor):
    """Every existing organisation's name_key, as Organization.save() sets it from now on (system work: the
    historical model's plain manager, no scope)."""
    from dangjian.orgs.models import name_key

    Organization = apps.get_model("orgs", "Organization")
    rows = Organization._base_manager.using(schema_editor.connection.alias).order_by("pk")
    last = 0
    while batch := list(rows.filter(pk__gt=last).values_list("pk", "name")[:BATCH]):  # a province: millions
        rows.bulk_update([Organization(pk=pk, name_key=name_key(name)) for pk, name in batch], ["name_key"],
                         batch_size=500)
        last = batch[-1][0]


class Migration(migrations.Migration):

    dependencies = [
        ("orgs", "0002_org_tally"),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="name_key",
            field=models.CharField(db_index=True, default="", editable=False, max_length=100),
            preserve_default=False,
        ),
        migrations.RunPython(fill_name_keys, migrations.RunPython.noop, elidable=True),
    ]
