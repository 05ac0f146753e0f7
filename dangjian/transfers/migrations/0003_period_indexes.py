"""Indexes for the transfer statistics: start from the transfers of a period, one covering index range per
date, instead of every party row of the subtree (docs/performance.md §7.5)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("transfers", "0002_event_status_labels"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="transfer",
            index=models.Index(fields=["submitted_on", "kind", "accepted_on", "closed_on", "status"],
                               name="transfer_submitted"),
        ),
        migrations.AddIndex(
            model_name="transfer",
            index=models.Index(fields=["accepted_on", "kind", "submitted_on"], name="transfer_accepted"),
        ),
        migrations.AddIndex(
            model_name="transfer",
            index=models.Index(fields=["closed_on", "kind", "accepted_on", "submitted_on"], name="transfer_closed"),
        ),
        migrations.AddIndex(
            model_name="transfer",
            index=models.Index(fields=["status", "kind", "submitted_on"], name="transfer_pending"),
        ),
        migrations.AddIndex(
            model_name="transferparty",
            index=models.Index(fields=["transfer", "org_path", "side"], name="transfer_party_sides"),
        ),
    ]
