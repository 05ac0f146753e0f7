"""The member counters other than the status leave out each organisation's own members (members.tallies):
recomputed from the members, as `manage.py rebuild_member_tallies` does (1,000,000 members: see
docs/performance.md §17)."""

from django.db import migrations


def recount(apps, schema_editor):
    from dangjian.members.tallies import rebuild_tallies

    rebuild_tallies(using=schema_editor.connection.alias)


class Migration(migrations.Migration):

    dependencies = [
        ("members", "0012_tally_hot_updates"),
    ]

    operations = [
        migrations.RunPython(recount, recount),
    ]
