"""党费汇总 (`DuesTally`): the counters behind the dues statistics and the arrears counts.

Metrics, each a (key → count, 分) counter per organisation holding its whole subtree (orgs.tallies):

- `assessed`  key "YYYY-MM" = an assessment's year and first due month; count = assessments, 分 = Σ monthly
              amount. Due for months a..b of a year = Σ over first months f ≤ b of 分 × (b + 1 − max(f, a)).
- `paid`      key = the month paid for (应交党费); count = months paid, 分 = amount, by the collecting branch.
- `voluntary` key = the month of a voluntary extra (自愿多交); by the collecting branch.
- `account`   key = 已交至; count = accounts. Accounts owing ≥ n months on a day = Σ keys ≤ the threshold.

Assessments and accounts count at the member's path (they follow the member); payments at the path of the
branch that received them. Every writer calls `tally_dues` with its deltas in its own transaction:
dues.services (assessment, correction, reduction approved, payment), members.services (a member's rows
move or leave with them, through `tally_contributions` on the models) and orgs.services (a subtree moves).
`rebuild_dues_tallies` recomputes all of it with three GROUP BYs; `dues_tally_differences` checks the
stored counters against a row-by-row count in Python (tests, `manage.py rebuild_dues_tallies --check`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable

from django.db import connections, router

from dangjian.orgs import tallies

ASSESSED, PAID, VOLUNTARY, ACCOUNT = "assessed", "paid", "voluntary", "account"


def _model():
    from .models import DuesTally

    return DuesTally


def month_key(day: dt.date | str) -> str:
    """"YYYY-MM" of a date (or of SQLite's "YYYY-MM-DD" text from a raw GROUP BY)."""
    return str(day)[:7]


def assessment_contribution(year: int, first_month: int, monthly_fen: int):
    return _model(), (ASSESSED, f"{year:04d}-{first_month:02d}"), (1, monthly_fen)


def payment_contribution(kind: str, month: dt.date, amount_fen: int):
    return _model(), (PAID if kind == "due" else VOLUNTARY, month_key(month)), (1, amount_fen)


def account_contribution(paid_up_to: dt.date):
    return _model(), (ACCOUNT, month_key(paid_up_to)), (1, 0)


def tally_dues(changes: Iterable[tuple[str, tuple, int]], *, using: str | None = None) -> int:
    """Apply (org_path, contribution, +1 / −1) changes in the caller's transaction."""
    return tallies.tally_add(_model(), ((path, key, tuple(sign * v for v in sums))
                                        for path, (_, key, sums), sign in changes), using=using)


# --- Recomputation and the consistency check ---------------------------------------------------------


def _grouped(connection) -> Counter:
    """{(row org_path, metric, key): [count, 分]} by one GROUP BY per table (system work, raw SQL)."""
    from .models import DuesAccount, DuesAssessment, DuesPayment

    qn = connection.ops.quote_name
    out: dict = {}

    def add(path, metric, key, n, fen):
        acc = out.setdefault((path, metric, key), [0, 0])
        acc[0] += n
        acc[1] += fen or 0

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT org_path, year, first_month, COUNT(*), SUM(monthly_fen) "  # noqa: S608  # nosec B608
                       f"FROM {qn(DuesAssessment._meta.db_table)} GROUP BY org_path, year, first_month")
        for path, year, first, n, fen in cursor.fetchall():
            add(path, ASSESSED, f"{year:04d}-{first:02d}", n, fen)
        cursor.execute(f"SELECT org_path, kind, month, COUNT(*), SUM(amount_fen) "  # noqa: S608  # nosec B608
                       f"FROM {qn(DuesPayment._meta.db_table)} GROUP BY org_path, kind, month")
        for path, kind, month, n, fen in cursor.fetchall():
            add(path, PAID if kind == "due" else VOLUNTARY, month_key(month), n, fen)
        cursor.execute(f"SELECT org_path, paid_up_to, COUNT(*) "  # noqa: S608  # nosec B608
                       f"FROM {qn(DuesAccount._meta.db_table)} GROUP BY org_path, paid_up_to")
        for path, paid, n in cursor.fetchall():
            add(path, ACCOUNT, month_key(paid), n, 0)
    return out


def _roll_up(direct) -> dict:
    return tallies.roll_up(_model(), ((path, (metric, key), tuple(sums)) for (path, metric, key), sums in direct.items()))


def rebuild_dues_tallies(*, using: str | None = None) -> int:
    """Truncate and recompute every counter from the dues rows. Returns the number of counter rows."""
    connection = connections[using or router.db_for_write(_model())]
    return tallies.replace_all(_model(), _roll_up(_grouped(connection)), using=connection.alias)


def expected_dues_tallies() -> dict:
    """The counters recomputed row by row in Python (independent of the GROUP BYs). Unscoped: a system check."""
    from .models import DuesAccount, DuesAssessment, DuesPayment

    direct: dict = {}

    def add(path, contribution):
        _, key, sums = contribution
        acc = direct.setdefault((path, *key), [0, 0])
        acc[0] += sums[0]
        acc[1] += sums[1]

    for path, year, first, fen in DuesAssessment.unscoped.values_list("org_path", "year", "first_month",
                                                                     "monthly_fen").iterator():
        add(path, assessment_contribution(year, first, fen))
    for path, kind, month, fen in DuesPayment.unscoped.values_list("org_path", "kind", "month", "amount_fen").iterator():
        add(path, payment_contribution(kind, month, fen))
    for path, paid in DuesAccount.unscoped.values_list("org_path", "paid_up_to").iterator():
        add(path, account_contribution(paid))
    return _roll_up(direct)


def dues_tally_differences() -> dict:
    """{(org_path, metric, key): (stored, expected)} wherever they differ; {} when consistent."""
    return tallies.differences(_model(), expected_dues_tallies())
