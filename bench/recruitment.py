"""Benchmark of 发展党员 (issue 3) on the bench city: the due list, the statistics and the daily reminders
over a city's recruitment cases, and the cost of recording a step through the services.

    .venv/bin/python -m bench.recruitment                               # bench/out/city-1000000.sqlite3
    .venv/bin/python -m bench.recruitment --sqlite-path bench/out/city-100000.sqlite3 --cases 2000
    .venv/bin/python -m bench.recruitment --database-url postgres://127.0.0.1:55460/bench

It adds `--cases` open cases (a city of a million members has some 20,000 people in development at any
time: applicants, activists, development targets and probationary members) spread over the city's
branches with due dates around today, and step records for a year's statistics, bulk-inserted; then times,
as the 区委组织部 administrator of the whole city and as one 街道党工委: the due list's first page and count,
the statistics of a year, the committee queue, and the daily reminder job; then walks a few cases through
steps 2–16 with the real services (rules, audit, deadlines) and prints the time per step. Afterwards it deletes
what it created (the audit entries stay: the log is append-only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time

from bench.run import measure, open_bench_database, percentile

STAGES = ["applicant", "activist", "development_target", "probationary"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="发展党员基准（issue 3）")
    p.add_argument("--database-url", default="")
    p.add_argument("--sqlite-path", default="")
    p.add_argument("--cases", type=int, default=20_000)
    p.add_argument("--walks", type=int, default=5, help="用服务走完第2—16步的档案数")
    p.add_argument("--no-migrate", action="store_true")
    args = p.parse_args(argv)
    url = open_bench_database(p, args.database_url, args.sqlite_path, migrate=not args.no_migrate)

    from django.utils import timezone

    from dangjian.core.scoping import Scope, scope, system_scope
    from dangjian.orgs.models import BRANCH_KINDS, COMMITTEE_KINDS, Organization
    from dangjian.recruitment import jobs, selectors

    today = timezone.localdate()
    out = sys.stdout
    out.write(f"# 发展党员基准 — {dt.datetime.now():%Y-%m-%d %H:%M}, {url.split('@')[-1]}\n\n")
    with system_scope("bench: recruitment set-up"):
        root = Organization.objects.filter(parent__isnull=True).order_by("path").first()
        branches = list(Organization.objects.filter(kind__in=BRANCH_KINDS, is_dissolved=False)
                        .values_list("pk", "path"))
        street = (Organization.objects.filter(kind__in=COMMITTEE_KINDS, depth=root.depth + 1).order_by("-path")
                  .first())
        t = time.perf_counter()
        made = _insert_cases(args.cases, branches, today)
        out.write(f"插入 {made:,} 份档案及其步骤记录 in {time.perf_counter() - t:.1f} s；{len(branches):,} 个支部\n\n")
    try:
        out.write("| 操作 | 范围 | p50 ms | p95 ms | 结果 |\n|---|---|---|---|---|\n")
        for label, org in (("全市", root), (street.name, street)):
            whole = Scope(subtrees=(org.path,))
            rows = [
                ("期限清单第一页（50）", lambda org=org: list(selectors.due_list(org=org, today=today)[:50])),
                ("期限清单计数（14天内到期）",
                 lambda org=org: selectors.due_list(org=org, today=today, within_days=14).count()),
                ("年度统计（述职报告句子）", lambda org=org: selectors.recruitment_statistics(
                    org=org, start=dt.date(today.year, 1, 1), end=today).sentence()),
                ("档案列表第一页（50）", lambda org=org: list(selectors.case_list(org=org)[:50])),
            ]
            with scope(whole):
                for name, fn in rows:
                    times = measure(fn, reps=20, budget_s=10)
                    result = fn()
                    shown = result if isinstance(result, (int, str)) else f"{len(result)} 行"
                    out.write(f"| {name} | {label} | {percentile(times, 50):.1f} | {percentile(times, 95):.1f} | "
                              f"{str(shown)[:60]} |\n")
        with system_scope("bench: reminders"):
            t = time.perf_counter()
            sent = jobs.due_reminders(on=today)
            out.write(f"\n每日期限提醒 due_reminders: {sent:,} 条消息 in {(time.perf_counter() - t) * 1000:.0f} ms\n")
        _walks(out, args.walks, today)
    finally:
        with system_scope("bench: clean up"):
            _clean_up()
    return 0


def _insert_cases(n: int, branches, today: dt.date) -> int:
    """`n` open cases with due dates from 60 days ago to 120 days ahead, and a year of step records (3, 7, 17,
    24) for a third of them, in batches."""
    from dangjian.core import crypto
    from dangjian.recruitment.models import RecruitmentCase, RecruitmentStep

    rng = random.Random(20261129)  # noqa: S311  demo data, not secrets
    token = crypto.encrypt("110105199001011234")  # the same ciphertext for all: only the rows' shape matters
    batch, steps = [], []
    for i in range(n):
        pk_path = branches[rng.randrange(len(branches))]
        # half the branch's own deadline, half the 党委's (the reminders look up each branch's committee)
        label, step = rng.choice([("派人谈话", 2), ("上级党委审批", 17)])
        applied = today - dt.timedelta(days=rng.randrange(30, 900))
        due = today + dt.timedelta(days=rng.randrange(-60, 120))
        batch.append(RecruitmentCase(
            organization_id=pk_path[0], org_path=pk_path[1], name=f"基准申请人{i:06d}", gender=rng.choice(["male", "female"]),
            birth_date=dt.date(1980 + rng.randrange(25), rng.randrange(1, 13), rng.randrange(1, 28)),
            id_number_encrypted=token, id_number_digest=f"bench{i:059d}", id_number_masked="110105********1234",
            education=rng.choice(["21", "31", "41", "61"]), occupation=rng.choice(["worker", "professional", "student"]),
            stage=rng.choice(STAGES), applied_on=applied, next_step=rng.randrange(2, 25), next_due=due,
            next_due_label=label, next_due_step=step))
    RecruitmentCase.unscoped.bulk_create(batch, batch_size=2000)
    cases = list(RecruitmentCase.unscoped.filter(id_number_digest__startswith="bench").values_list("pk", flat=True))
    dated = {}
    for pk in rng.sample(cases, len(cases) // 3):  # a third of them, all over the city, with a year's steps
        days = {number: today - dt.timedelta(days=rng.randrange(0, 330)) for number in (3, 7, 17, 24)}
        dated[pk] = days
        for number, on in days.items():
            steps.append(RecruitmentStep(case_id=pk, number=number, on=on, body="committee", rule_version="2026",
                                         entered_by_label="基准"))
    RecruitmentStep.objects.bulk_create(steps, batch_size=5000)
    for pk, days in dated.items():  # the dates a case keeps of its steps, as the services set them
        RecruitmentCase.unscoped.filter(pk=pk).update(activist_on=days[3], development_target_on=days[7],
                                                      approved_on=days[17], converted_on=days[24],
                                                      admitted_age=rng.randrange(18, 60))
    return len(cases)


def _walks(out, walks: int, today: dt.date) -> None:
    """Record steps 2–16 of `walks` new cases through the services (every rule, audit entry and due date)."""
    from dangjian.core.actors import SYSTEM
    from dangjian.core.dates import add_months
    from dangjian.core.scoping import system_scope
    from dangjian.members.models import Member, MemberStatus, Standing
    from dangjian.orgs.models import BRANCH_KINDS, Organization
    from dangjian.recruitment import demo
    from dangjian.recruitment.services import approving_committee, case_create, step_record

    with system_scope("bench: walks"):
        for branch in Organization.objects.filter(kind__in=BRANCH_KINDS, is_dissolved=False).order_by("path"):
            members = list(Member.objects.filter(organization=branch, status=MemberStatus.FULL,
                                                 standing=Standing.NORMAL)[:4])
            if len(members) == 4 and approving_committee(branch) is not None:
                break
        else:
            out.write("没有具备审批权限党委的支部：跳过服务计时\n")
            return
        start = add_months(today, -17)
        timings = []
        for k in range(walks):
            case = case_create(actor=SYSTEM, organization=branch, applied_on=start,
                               data=demo.person(990_000 + k, born=dt.date(1995, 1, 1 + k), name=f"基准走步{k}"))
            dates = demo.schedule(start)
            for number in range(2, 17):
                people = members[:2] if number == 5 else members[2:4] if number == 9 else None
                t = time.perf_counter()
                step_record(actor=SYSTEM, case=case, data=demo.valid_input(number, dates[number], people=people))
                timings.append((time.perf_counter() - t) * 1000)
                if number == 6:
                    step_record(actor=SYSTEM, case=case, data=demo.valid_input(6, add_months(start, 10)))
        out.write(f"记录一个步骤 step_record（规则、审计、期限）: {len(timings)} 次, p50 {percentile(timings, 50):.1f} ms, "
                  f"p95 {percentile(timings, 95):.1f} ms（{branch.name}）\n")


def _clean_up() -> None:
    from dangjian.notifications.models import Notification
    from dangjian.recruitment.models import CasePerson, RecruitmentCase, RecruitmentStep

    cases = RecruitmentCase.unscoped.filter(name__startswith="基准")
    Notification.unscoped.filter(kind__startswith="recruitment.").delete()
    CasePerson.objects.filter(case__in=cases).delete()
    RecruitmentStep.objects.filter(case__in=cases).delete()
    cases.delete()


if __name__ == "__main__":
    raise SystemExit(main())
