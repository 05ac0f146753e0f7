from django.db import migrations, models

BATCH = 5000


def fill_name_keys(apps, schema_editor):
    """Every existing organisation's name_key, as Organization.save() sets it from now on (system work: the
    historical model's plain manager, no scope)."""
    from dangjian.orgs.models import name_key

    Organization = apps.get_model("orgs", "Organization")
    db = schema_editor.connection.alias
    rows = list(Organization._base_manager.using(db).order_by("pk").values_list("pk", "name"))
    for i in range(0, len(rows), BATCH):
        changed = [Organization(pk=pk, name_key=name_key(name)) for pk, name in rows[i : i + BATCH]]
        Organization._base_manager.using(db).bulk_update(changed, ["name_key"], batch_size=500)


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
