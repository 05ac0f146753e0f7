"""Five years of the records a city has by `--today`, added to a bench database that holds the demo district
(bench/generate.py runs it after the seed; alone: `python -m bench.generate --members N --add-records`).

    .venv/bin/python -m bench.records --sqlite-path bench/out/city-100000.sqlite3 --today 2026-11-29

What it writes (docs/performance.md, "业务记录"), deterministic for a seed, in one transaction, every row
through `core.bulk.bulk_insert` (never one ORM save per row):
- 三会一课 for every branch over the 60 months up to today, at the rules' frequencies (rules.DEFAULTS):
  支委会 monthly; 主题党日 monthly on the fixed day, counting also as 党课 in a quarter's first month and as
  支部党员大会 in its last; 党小组会 monthly in each 党小组; 组织生活会 + 民主评议 once a year. Each branch has a
  diligence drawn once (most reliable, some patchy, a few poor), so the compliance table has red and amber
  cells. A recorded meeting is frozen with its version 1 (the sealed content, as meetings.services._freeze
  writes it) once its confirmation window has passed; its `MeetingKindRow`s carry `held_month`.
- Attendance (应到/出席) only for the 主题党日 of the last `ATTENDANCE_MONTHS` months: every member of the branch,
  present about nine in ten. Five years of it would be ~200 million rows (40 GB of SQLite); the last quarter
  is what the measured reads touch (the inactive-member list looks back six months and still finds the
  members without a recorded attendance; the statistics' attendance rate covers the recent months).
- 党费: one assessment per member per year since joining (5 years), the dues account (已交至), and payments
  on the platform for the current year's months; earlier years were settled before the platform (the
  account's 已交至 says so, as `assessment_set(paid_through=…)` does). A share of members stop paying months
  ago (arrears, some ≥ 6 months: 自行脱党 warnings).
- 组织关系接转, ~3 % of members a year: within the district (closed: the member's earlier period at the sending
  branch is inserted and the current one starts on the acceptance date), into the district (closed: the
  current period starts then), out of the district (closed: the member leaves the roster as
  members.services.member_leave does, counters included) and, in the last three months, open ones
  (submitted, approved, returned, expired).
Recruitment cases come from bench/recruitment.py (it inserts 20,000 open cases before measuring and deletes them
afterwards by their name prefix, so cases written here would be deleted by it), not from here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

YEARS = 5
ATTENDANCE_MONTHS = 3
# Branch diligence: (share of branches, chance that a due meeting is missed).
DILIGENCE = ((0.70, 0.02), (0.20, 0.12), (0.10, 0.35))
# Dues position of a member on `today`: (share, months since the last paid month) — 0 = paid this month,
# 1 = paid up to last month (not late), 2+ = in arrears (党章 第九条: 6 months → 自行脱党 warning).
DUES_POSITION = ((0.12, 0), (0.80, 1), (0.03, 2), (0.02, 4), (0.015, 6), (0.015, 9))
TRANSFERS_PER_YEAR = {"within": 0.02, "in": 0.005, "out": 0.005}
OPEN_TRANSFERS = 0.003  # of members, started in the last three months and not yet accepted
BATCH = 5000  # branches per insert batch (meetings)
MARK = "［基准记录］"  # in the minutes: what this generator wrote (a second run refuses)


@dataclass
class Counts:
    meetings: int = 0
    kind_rows: int = 0
    versions: int = 0
    attendances: int = 0
    assessments: int = 0
    accounts: int = 0
    payments: int = 0
    in_arrears: int = 0
    transfers: Counter = field(default_factory=Counter)
    seconds: dict = field(default_factory=dict)

    def summary(self) -> dict:
        return {"meetings": self.meetings, "kind_rows": self.kind_rows, "versions": self.versions,
                "attendances": self.attendances, "assessments": self.assessments, "accounts": self.accounts,
                "payments": self.payments, "in_arrears": self.in_arrears, "transfers": dict(self.transfers),
                "seconds": {k: round(v, 1) for k, v in self.seconds.items()}}


@dataclass
class _Member:
    pk: int
    org_id: int
    path: str
    name: str
    status: str
    joined_on: dt.date
    occupation: str
    digest: str
    masked: str
    left_on: dt.date | None = None


@dataclass
class _World:
    today: dt.date
    orgs: dict  # pk → (path, name, kind, parent_id, is_dissolved)
    branches: list  # (pk, path, name) of live branches, tree order
    groups: dict  # branch path → [(pk, path, name)] of its 党小组
    members: list  # _Member, tree order
    by_branch: dict  # branch path → [_Member]
    busy: set  # member pks that may not take part in a generated transfer (accounts, seats, mobile)
    path_to_pk: dict


def add_records(*, seed: int, today: dt.date, progress=None) -> Counts:
    """Everything above in one transaction. The caller opens a system scope."""
    from django.db import transaction

    from dangjian.audit import registry
    from dangjian.audit.services import log_action
    from dangjian.core.actors import SYSTEM
    from dangjian.core.bulk import reset_sequences
    from dangjian.dues.models import DuesAccount, DuesAssessment, DuesPayment
    from dangjian.dues.tallies import rebuild_dues_tallies
    from dangjian.meetings.compliance import rebuild_compliance
    from dangjian.meetings.models import Attendance, Meeting, MeetingKindRow, MeetingRecordVersion
    from dangjian.members.models import MembershipPeriod
    from dangjian.orgs.models import Organization
    from dangjian.transfers.models import Transfer, TransferEvent, TransferParty
    from dangjian.transfers.tallies import rebuild_transfer_tallies

    registry.register({"bench.records.generated": "生成基准业务记录"})
    say = progress or (lambda _msg: None)
    counts = Counts()
    with transaction.atomic():
        if Meeting.unscoped.filter(minutes__startswith=MARK).exists():
            raise SystemExit("该基准库已有基准业务记录（会议、党费、转接），不能重复生成")
        world = _load(today)
        say(f"已读取 {len(world.members):,} 名党员、{len(world.branches):,} 个支部")
        for name, step in (("transfers", _transfers), ("meetings", _meetings), ("dues", _dues)):
            t = time.perf_counter()
            step(world, random.Random(f"{seed}:{name}"), counts, say)  # noqa: S311  bench data, not secrets
            counts.seconds[name] = time.perf_counter() - t
        # written in bulk above, around the services: the counters and marks are computed once at the end
        t = time.perf_counter()
        rebuild_dues_tallies()
        counts.seconds["dues"] += time.perf_counter() - t
        t = time.perf_counter()
        rebuild_compliance()
        counts.seconds["meetings"] += time.perf_counter() - t
        t = time.perf_counter()
        rebuild_transfer_tallies()
        counts.seconds["transfers"] += time.perf_counter() - t
        reset_sequences([Meeting, MeetingKindRow, MeetingRecordVersion, Attendance, DuesAssessment, DuesAccount,
                         DuesPayment, Transfer, TransferParty, TransferEvent, MembershipPeriod])
        root = Organization.unscoped.filter(parent__isnull=True).order_by("path").first()
        log_action(actor=SYSTEM, action="bench.records.generated", target=root,
                   changes={"seed": seed, "reference_date": today.isoformat(), **counts.summary()})
    return counts


# --- Reading the district ------------------------------------------------------------------------------------


def _load(today: dt.date) -> _World:
    from dangjian.members.models import LEFT_PATH, Member
    from dangjian.orgs.models import BRANCH_KINDS, CommitteeMember, Organization, OrgKind
    from dangjian.transfers.models import MobileMember

    orgs = {pk: rest for pk, *rest in Organization.unscoped.order_by("path").values_list(
        "pk", "path", "name", "kind", "parent_id", "is_dissolved")}
    branches = [(pk, o[0], o[1]) for pk, o in orgs.items() if o[2] in BRANCH_KINDS and not o[4]]
    branch_paths = {p for _, p, _ in branches}
    groups: dict[str, list] = {}
    for pk, o in orgs.items():
        if o[2] == OrgKind.PARTY_GROUP and not o[4] and o[0][:-4] in branch_paths:
            groups.setdefault(o[0][:-4], []).append((pk, o[0], o[1]))
    members = [_Member(*row) for row in Member.unscoped.exclude(org_path=LEFT_PATH).order_by("org_path", "pk")
               .values_list("pk", "organization_id", "org_path", "name", "status", "joined_on", "occupation",
                            "id_number_digest", "id_number_masked")]
    by_branch: dict[str, list] = {}
    for m in members:  # a member of a 党小组 belongs to its branch
        key = m.path if m.path in branch_paths else m.path[:-4] if m.path[:-4] in branch_paths else None
        if key is not None:
            by_branch.setdefault(key, []).append(m)
    busy = set(Member.unscoped.filter(user__isnull=False).values_list("pk", flat=True))
    busy |= set(CommitteeMember.unscoped.filter(member__isnull=False).values_list("member_id", flat=True))
    busy |= set(MobileMember.unscoped.values_list("member_id", flat=True))
    busy |= set(Member.unscoped.filter(is_mobile=True).values_list("pk", flat=True))
    return _World(today=today, orgs=orgs, branches=branches, groups=groups, members=members, by_branch=by_branch,
                  busy=busy, path_to_pk={o[0]: pk for pk, o in orgs.items()})


def _months(today: dt.date) -> list[dt.date]:
    """The first days of the 60 months ending with today's."""
    from dangjian.core.dates import add_months

    first = today.replace(day=1)
    return [add_months(first, -k) for k in range(YEARS * 12 - 1, -1, -1)]


def _aware(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    from django.conf import settings

    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=_zone(settings.TIME_ZONE))


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)  # cached by zoneinfo


_TEMPLATES: dict = {}


def _new(model, **values):
    """An unsaved instance for bulk_insert, built by core.bulk.ModelTemplate (one per model): the fields'
    defaults, then `values`, straight into the instance dict where Model.__init__ would do nothing more (its
    per-field descriptor work was ~70 % of the generator's time at 1M)."""
    from dangjian.core.bulk import ModelTemplate

    template = _TEMPLATES.get(model)
    if template is None:
        template = _TEMPLATES[model] = ModelTemplate(model)
    return template(**values)


# --- 组织关系接转 -----------------------------------------------------------------------------------------------


def _committee_of(world: _World, path: str) -> int:
    """transfers.services.handling_committee: the nearest ancestor of a configured committee kind, else the root."""
    from dangjian.transfers import rules

    kinds = set(rules.config()["committee_kinds"])
    for n in range(len(path), 0, -4):
        pk = world.path_to_pk.get(path[:n])
        if pk is not None and world.orgs[pk][2] in kinds:
            return pk
    return world.path_to_pk[path[:4]]


def _transfers(world: _World, rng: random.Random, counts: Counts, say) -> None:
    from django.db import connection

    from dangjian.core.bulk import bulk_insert
    from dangjian.members.models import LEFT_PATH, Discipline, LeaveReason, Member, MembershipPeriod
    from dangjian.members.tallies import member_dimensions, tally_apply
    from dangjian.transfers import rules as trules
    from dangjian.transfers.models import Side, Transfer, TransferEvent, TransferKind, TransferParty
    from dangjian.transfers.models import TransferStatus as S

    today = world.today
    start = today.replace(year=today.year - YEARS)
    span = (today - start).days
    pool = [m for m in world.members if m.pk not in world.busy and m.path in world.by_branch]
    rng.shuffle(pool)
    branch_pks = [pk for pk, _, _ in world.branches]
    letter_numbers: Counter = Counter()
    transfers, plans = [], []  # plans: (kind, member, dates, status, from_pk, to_pk)
    n = len(world.members)
    wanted = [(kind, round(n * share * YEARS)) for kind, share in TRANSFERS_PER_YEAR.items()]
    wanted.append(("open", round(n * OPEN_TRANSFERS)))
    it = iter(pool)
    for kind, k in wanted:
        made = 0
        for m in it:
            if made >= k:
                break
            if kind == "open":
                submitted = today - dt.timedelta(days=rng.randrange(1, 92))
            else:
                submitted = start + dt.timedelta(days=rng.randrange(0, span - 60))
            if submitted <= m.joined_on + dt.timedelta(days=30):
                continue
            made += 1
            plans.append((kind, m, submitted))
    periods_new, period_starts, leaving = [], [], []
    for kind, m, submitted in plans:
        branch_pk = world.path_to_pk[m.path] if world.orgs[world.path_to_pk[m.path]][2] != "party_group" else \
            world.path_to_pk[m.path[:-4]]
        approved = submitted + dt.timedelta(days=rng.randrange(1, 8))
        accepted = approved + dt.timedelta(days=rng.randrange(2, 25))
        closed = accepted + dt.timedelta(days=rng.randrange(3, 30))
        t = _new(Transfer, member_id=m.pk, person_name=m.name, id_number_masked=m.masked, member_status=m.status,
                     reason="工作调动" if rng.random() < 0.6 else "居住地变更", submitted_on=submitted)
        events = [("create", "", S.DRAFT, submitted), ("submit", S.DRAFT, S.SUBMITTED, submitted)]
        sender = receiver = None
        if kind == "within":  # the member came from another branch: the current branch is the receiver
            from_pk = branch_pk
            while from_pk == branch_pk:
                from_pk = branch_pks[rng.randrange(len(branch_pks))]
            t.kind, t.status, t.from_org_id, t.to_org_id, t.placed_org_id = (
                TransferKind.WITHIN, S.CLOSED, from_pk, branch_pk, branch_pk)
            t.accepted_on, t.placed_on, t.closed_on = accepted, accepted, closed
            sender, receiver = from_pk, branch_pk
            events += [("approve", S.SUBMITTED, S.APPROVED, approved), ("accept", S.APPROVED, S.ACCEPTED, accepted),
                       ("place", S.ACCEPTED, S.PLACED, accepted), ("close", S.PLACED, S.CLOSED, closed)]
            from_path = world.orgs[from_pk][0]
            periods_new.append(_new(MembershipPeriod, member_id=m.pk, organization_id=from_pk, org_path=from_path,
                                                start=m.joined_on, end=accepted, reason="登记"))
            period_starts.append((accepted, "组织关系转接", m.pk))
        elif kind == "in":  # from outside the district: the member's period here starts on acceptance
            t.kind, t.status, t.from_external, t.to_org_id, t.placed_org_id = (
                TransferKind.IN, S.CLOSED, "外区党委（区外转入）", branch_pk, branch_pk)
            t.id_number_digest = m.digest
            t.submitted_on, t.accepted_on, t.placed_on, t.closed_on = None, accepted, accepted, closed
            receiver = branch_pk
            events = [("register", "", S.APPROVED, approved), ("accept", S.APPROVED, S.ACCEPTED, accepted),
                      ("place", S.ACCEPTED, S.PLACED, accepted), ("close", S.PLACED, S.CLOSED, closed)]
            period_starts.append((accepted, "组织关系转接", m.pk))
        elif kind == "out":  # left the district when the receipt came back (member_leave)
            if closed >= today:
                closed = today - dt.timedelta(days=1)
            t.kind, t.status, t.from_org_id, t.to_external, t.closed_on = (
                TransferKind.OUT, S.CLOSED, branch_pk, "外区党委（转出本区）", closed)
            sender = branch_pk
            events += [("approve", S.SUBMITTED, S.APPROVED, approved), ("close", S.APPROVED, S.CLOSED, closed)]
            leaving.append((m, closed))
        else:  # open: within or out, somewhere between submitted and expired
            within = rng.random() < 0.7
            to_pk = branch_pk
            while within and to_pk == branch_pk:
                to_pk = branch_pks[rng.randrange(len(branch_pks))]
            t.kind = TransferKind.WITHIN if within else TransferKind.OUT
            t.from_org_id, sender = branch_pk, branch_pk
            if within:
                t.to_org_id, receiver = to_pk, to_pk
            else:
                t.to_external = "外区党委（转出本区）"
            status = rng.choices([S.SUBMITTED, S.APPROVED, S.RETURNED, S.EXPIRED], [3, 5, 1, 1])[0]
            if approved >= today:
                status = S.SUBMITTED
            if status in (S.APPROVED, S.EXPIRED):
                events.append(("approve", S.SUBMITTED, S.APPROVED, approved))
            if status == S.EXPIRED:
                events.append(("expire", S.APPROVED, S.EXPIRED, min(approved + dt.timedelta(days=31), today)))
            if status == S.RETURNED:
                events.append(("return", S.SUBMITTED, S.RETURNED, approved))
                t.return_reason = "材料不全"
            t.status = status
        if any(e[0] == "approve" for e in events) or kind == "in":
            committee = _committee_of(world, world.orgs[sender or receiver][0])
            letter_numbers[(committee, approved.year)] += 1
            t.letter_number = trules.config()["letter_number_format"].format(
                committee=world.orgs[committee][1], year=approved.year, n=letter_numbers[(committee, approved.year)])
            t.letter_issued_on, t.valid_until = approved, approved + dt.timedelta(days=30)
            t.approved_on = approved if kind != "in" else None
        if sender is not None:
            t.sender_committee_id = _committee_of(world, world.orgs[sender][0])
        if receiver is not None:
            t.receiver_committee_id = _committee_of(world, world.orgs[receiver][0])
        t.dues_paid_up_to = None
        transfers.append((t, events, sender, receiver, kind))
        counts.transfers[f"{t.kind}:{t.status}"] += 1
    bulk_insert(Transfer, [t for t, *_ in transfers], assign_ids=True)
    parties, event_rows = [], []
    for t, events, sender, receiver, _kind in transfers:
        for side, pk in ((Side.SENDER, sender), (Side.RECEIVER, receiver)):
            if pk is not None:
                parties.append(_new(TransferParty, transfer_id=t.pk, side=side, organization_id=pk,
                                             org_path=world.orgs[pk][0]))
        for action, old, new, on in events:
            event_rows.append(_new(TransferEvent, transfer_id=t.pk, action=action, from_status=old, to_status=new, on=on,
                                            actor_label="基准数据"))
    bulk_insert(TransferParty, parties, assign_ids=True)
    bulk_insert(TransferEvent, event_rows, assign_ids=True)
    # The membership history those transfers imply (member_move / member_leave, in bulk).
    bulk_insert(MembershipPeriod, periods_new, assign_ids=True)
    q = connection.ops.quote_name  # `end` is a reserved word
    table, start_col, end_col = q(MembershipPeriod._meta.db_table), q("start"), q("end")
    with connection.cursor() as cursor:  # the current period (end IS NULL) of each member, by member_id
        cursor.executemany(f"UPDATE {table} SET {start_col} = %s, reason = %s WHERE member_id = %s AND {end_col} IS NULL",  # noqa: S608  # nosec B608
                           [(connection.ops.adapt_datefield_value(d), r, pk) for d, r, pk in period_starts])
        cursor.executemany(f"UPDATE {table} SET {end_col} = %s WHERE member_id = %s AND {end_col} IS NULL",  # noqa: S608  # nosec B608
                           [(connection.ops.adapt_datefield_value(on), m.pk) for m, on in leaving])
    left = {m.pk: on for m, on in leaving}
    full = {x.pk: x for x in Member.unscoped.filter(pk__in=list(left)).select_related("organization")}
    tally_apply((x.org_path, member_dimensions(x, x.organization.sector), -1) for x in full.values())
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {Member._meta.db_table} SET org_path = %s, left_on = %s, left_reason = %s "  # noqa: S608  # nosec B608
                           "WHERE id = %s",
                           [(LEFT_PATH, connection.ops.adapt_datefield_value(on), LeaveReason.TRANSFERRED_OUT, pk)
                            for pk, on in left.items()])
    Discipline.unscoped.filter(member_id__in=list(left)).update(org_path=LEFT_PATH)
    for m, on in leaving:
        m.left_on = on
    say(f"组织关系接转 {len(transfers):,} 件（{dict(counts.transfers)}）")


# --- 三会一课 ----------------------------------------------------------------------------------------------------


def _meetings(world: _World, rng: random.Random, counts: Counts, say) -> None:
    from dangjian.core.dates import add_months
    from dangjian.meetings import rules

    p = rules.params()
    today = world.today
    months = _months(today)
    attend_from = add_months(today.replace(day=1), -(ATTENDANCE_MONTHS - 1))
    buffer = _MeetingBuffer(world, counts, confirm_days=p["confirm_days"])
    for i, (pk, path, name) in enumerate(world.branches):
        miss = _diligence(rng)
        members = world.by_branch.get(path, [])
        life_month = 1 + rng.randrange(2)
        for month in months:
            y, mo = month.year, month.month
            # 支委会: some day of the month
            day = month + dt.timedelta(days=rng.randrange(0, 25))
            if rng.random() >= miss and day < today:
                buffer.add(pk, path, name, f"{y}年{mo}月支部委员会", _aware(day, 15), ["committee_meeting"])
            # 主题党日 on the fixed day; with the quarter's 党课 (first month) or 党员大会 (last month)
            theme = rules.nth_weekday(y, mo, p["theme_day_week"], p["theme_day_weekday"])
            extra = ["party_lecture"] if mo % 3 == 1 else ["general_meeting"] if mo % 3 == 0 else []
            if theme < today:
                if rng.random() >= miss:
                    who = members if month >= attend_from else None
                    buffer.add(pk, path, name, f"{y}年{mo}月主题党日", _aware(theme, 9), ["theme_day", *extra],
                               attendees=who, rng=rng)
                elif extra and rng.random() >= 0.5:  # the theme day lapsed; the lecture or meeting was held apart
                    other = min(theme + dt.timedelta(days=rng.randrange(3, 15)), today - dt.timedelta(days=1))
                    buffer.add(pk, path, name, f"{y}年{mo}月{'党课' if extra[0] == 'party_lecture' else '支部党员大会'}",
                               _aware(other, 14), extra)
            # 组织生活会 and 民主评议党员 together, in January or February
            if mo == 1:
                life_month = 1 + rng.randrange(2)
            if mo == life_month:
                day = month + dt.timedelta(days=rng.randrange(5, 25))
                if rng.random() >= miss and day < today:
                    buffer.add(pk, path, name, f"{y}年度组织生活会和民主评议党员", _aware(day, 14),
                               ["life_meeting", "member_appraisal"])
            for gpk, gpath, gname in world.groups.get(path, []):  # 党小组会
                day = month + dt.timedelta(days=rng.randrange(0, 27))
                if rng.random() >= miss and day < today:
                    buffer.add(gpk, gpath, gname, f"{y}年{mo}月党小组会", _aware(day, 19), ["group_meeting"])
        if (i + 1) % BATCH == 0:
            buffer.flush()
            say(f"会议：{i + 1:,}/{len(world.branches):,} 个支部，{counts.meetings:,} 次会议")
    buffer.flush()
    say(f"会议 {counts.meetings:,} 次，类型 {counts.kind_rows:,} 行，出席记录 {counts.attendances:,} 行")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _diligence(rng: random.Random) -> float:
    x = rng.random()
    for share, miss in DILIGENCE:
        if x < share:
            return miss
        x -= share
    return DILIGENCE[-1][1]


class _MeetingBuffer:
    """Meetings of a batch of branches with their kind rows, attendance and frozen versions, inserted together."""

    def __init__(self, world: _World, counts: Counts, *, confirm_days: int):
        self.world, self.counts, self.confirm_days = world, counts, confirm_days
        self.rows: list = []  # (meeting, kinds, attendance [(member, present)])

    def add(self, org_pk, path, name, title, starts_at, kinds, *, attendees=None, rng=None):
        from dangjian.meetings.models import Meeting, MeetingStatus

        held_on = starts_at.date()
        confirm_until = held_on + dt.timedelta(days=self.confirm_days)
        frozen = confirm_until < self.world.today
        recorded_at = starts_at + dt.timedelta(hours=3)
        m = _new(Meeting, organization_id=org_pk, org_path=path, title=title, starts_at=starts_at, place="党员活动室",
                    chair="支部书记", recorder="组织委员", minutes=f"{MARK}{title}，按议程进行。",
                    status=MeetingStatus.FROZEN if frozen else MeetingStatus.RECORDED, held_on=held_on,
                    confirm_until=confirm_until, notified_at=starts_at - dt.timedelta(days=3),
                    recorded_at=recorded_at, frozen_at=_aware(confirm_until + dt.timedelta(days=1), 1) if frozen else None,
                    version=1 if frozen else 0)
        m._org_name = name
        att = []
        if attendees:
            for member in attendees:
                if member.left_on is not None and member.left_on <= held_on:
                    continue
                att.append((member, rng.random() < 0.9))
        self.rows.append((m, kinds, att))

    def flush(self):
        from django.db.models import Max

        from dangjian.core import crypto
        from dangjian.core.bulk import bulk_insert
        from dangjian.meetings import rules
        from dangjian.meetings.models import Attendance, Meeting, MeetingKindRow, MeetingRecordVersion

        if not self.rows:
            return
        meetings = [m for m, _, _ in self.rows]
        # The seal covers the meeting's id, so the ids are known before the insert: bulk_insert(assign_ids=True)
        # numbers from max(id) + 1 in this transaction (checked below).
        first = (Meeting.unscoped.aggregate(m=Max("pk"))["m"] or 0) + 1
        seal = crypto.sm3 if crypto.gm_mode() else _sha256  # MeetingRecordVersion.hash_of, the mode read once
        kind_rows, versions, atts = [], [], []
        for k, (m, kinds, att) in enumerate(self.rows):
            pk = first + k
            month = rules.month_key(m.held_on)
            kind_rows += [_new(MeetingKindRow, meeting_id=pk, kind=kind, org_path=m.org_path, held_month=month)
                          for kind in kinds]
            confirmed = m.recorded_at + dt.timedelta(days=1)
            rows = []
            for member, present in att:
                has_vote = member.status == "full"
                reason = "" if present else "因公请假"
                atts.append(_new(Attendance, meeting_id=pk, member_id=member.pk, org_path=member.path, member_name=member.name,
                                       has_vote=has_vote, present=present, absence_reason=reason, held_on=m.held_on,
                                       confirmed_at=confirmed if present else None))
                rows.append([member.pk, member.name, has_vote, present, reason])
            if m.version:  # frozen: version 1 with the content meetings.services._content would seal
                content = {"meeting": pk, "organization": m._org_name, "title": m.title,
                           "kinds": sorted(kinds), "held_at": m.starts_at.strftime("%Y-%m-%d %H:%M"),  # services._local: built in the zone
                           "place": m.place,
                           "chair": m.chair, "recorder": m.recorder, "agenda": m.agenda, "minutes": m.minutes,
                           "observers": [], "attendance": rows, "resolutions": [], "attachments": []}
                digest = seal(MeetingRecordVersion.canonical(content))
                m.content_hash = digest
                versions.append(_new(MeetingRecordVersion, meeting_id=pk, org_path=m.org_path, number=1, content=content,
                                                     content_hash=digest, created_by_label="系统"))
        bulk_insert(Meeting, meetings, assign_ids=True)
        if meetings and meetings[0].pk != first:
            raise RuntimeError("会议编号与预先计算的不一致：另有写入者？")
        bulk_insert(MeetingKindRow, kind_rows, assign_ids=True)
        bulk_insert(MeetingRecordVersion, versions, assign_ids=True)
        bulk_insert(Attendance, atts, assign_ids=True)
        self.counts.meetings += len(meetings)
        self.counts.kind_rows += len(kind_rows)
        self.counts.versions += len(versions)
        self.counts.attendances += len(atts)
        self.rows.clear()


# --- 党费 ----------------------------------------------------------------------------------------------------------


def _category(rng: random.Random, occupation: str) -> tuple[str, int | None]:
    """交纳类别 and monthly base (分) from the member's occupation; bases in whole hundreds of 元."""
    if occupation == "retired":
        return "retired", rng.randrange(30, 90) * 10_000
    if occupation == "student":
        return "student", None
    if occupation == "farmer":
        return "farmer", None
    if occupation == "other" and rng.random() < 0.3:
        return "unemployed", None
    return "employed", rng.randrange(30, 200) * 10_000


def _dues(world: _World, rng: random.Random, counts: Counts, say) -> None:
    from dangjian.core.bulk import bulk_insert
    from dangjian.core.dates import add_months
    from dangjian.dues import rules
    from dangjian.dues.models import DuesAccount, DuesAssessment, DuesPayment, Method, PaymentKind
    from dangjian.dues.selectors import arrears_months
    from dangjian.meetings.rules import nth_weekday
    from dangjian.meetings.rules import params as meeting_params

    today = world.today
    this_month = today.replace(day=1)
    years = range(today.year - YEARS + 1, today.year + 1)
    amounts: dict = {}
    theme_days: dict[dt.date, dt.date] = {}
    p_theme = meeting_params()

    def theme_day(month: dt.date) -> dt.date:  # 主题党日集中收缴: paid on the month's theme day
        if month not in theme_days:
            theme_days[month] = nth_weekday(month.year, month.month, p_theme["theme_day_week"],
                                            p_theme["theme_day_weekday"])
        return theme_days[month]

    chunk = 50_000
    for lo in range(0, len(world.members), chunk):
        part = world.members[lo:lo + chunk]
        assessments, accounts, plan = [], [], []
        for m in part:
            if m.left_on is not None:
                continue  # left the district: the dues record went with the letter (党费交至)
            category, base = _category(rng, m.occupation)
            key = (category, base)
            if key not in amounts:
                a = rules.monthly_amount(category, base)
                amounts[key] = (a.monthly_fen, a.rate_bp, base if rules.uses_base(category) else 0)
            monthly, rate, base_fen = amounts[key]
            current = None
            for y in years:
                if m.joined_on.year > y:
                    continue
                first = m.joined_on.month if m.joined_on.year == y else 1
                a = _new(DuesAssessment, member_id=m.pk, org_path=m.path, year=y, category=category,
                                   dues_base_fen=base_fen, standard_fen=monthly,
                                   monthly_fen=monthly, rate_bp=rate, first_month=first)
                assessments.append(a)
                current = a if y == today.year else None
            if current is None:
                continue
            x, back = rng.random(), 1
            for share, b in DUES_POSITION:
                if x < share:
                    back = b
                    break
                x -= share
            opened = add_months(dt.date(today.year, current.first_month, 1), -1)  # 已交至 when the account opened
            paid_to = max(add_months(this_month, -back), opened)
            counts.in_arrears += arrears_months(paid_to, today) >= 1
            accounts.append(_new(DuesAccount, member_id=m.pk, org_path=m.path, paid_up_to=paid_to))
            plan.append((m, current, opened, paid_to))
        bulk_insert(DuesAssessment, assessments, assign_ids=True)
        bulk_insert(DuesAccount, accounts, assign_ids=True)
        payments = []
        for m, a, opened, paid_to in plan:
            month = add_months(opened, 1)
            method = Method.THEME_DAY if rng.random() < 0.7 else Method.MONTHLY
            while month <= paid_to:
                paid_on = theme_day(month) if method == Method.THEME_DAY else month + dt.timedelta(days=9)
                paid_on = min(paid_on, today)
                payments.append(_new(DuesPayment, member_id=m.pk, organization_id=m.org_id, org_path=m.path,
                                            assessment_id=a.pk, kind=PaymentKind.DUE, month=month,
                                            amount_fen=a.monthly_fen, method=method, paid_on=paid_on))
                month = add_months(month, 1)
        bulk_insert(DuesPayment, payments, assign_ids=True)
        counts.assessments += len(assessments)
        counts.accounts += len(accounts)
        counts.payments += len(payments)
        say(f"党费：{lo + len(part):,}/{len(world.members):,} 名党员，交纳记录 {counts.payments:,} 条")


# --- Command line ------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    from bench.run import open_bench_database

    p = argparse.ArgumentParser(description="在基准库上生成 5 年业务记录（会议、党费、组织关系转接）")
    p.add_argument("--database-url", default="")
    p.add_argument("--sqlite-path", default="")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--today", default=None, help="参照日期 YYYY-MM-DD（默认今天）")
    p.add_argument("--no-migrate", action="store_true")
    args = p.parse_args(argv)
    open_bench_database(p, args.database_url, args.sqlite_path, migrate=not args.no_migrate)

    from django.utils import timezone

    from dangjian.core.scoping import system_scope

    today = dt.date.fromisoformat(args.today) if args.today else timezone.localdate()
    started = time.perf_counter()
    with system_scope("bench.records: generating the bench database's records"):
        counts = add_records(seed=args.seed, today=today, progress=lambda msg: print(msg, flush=True))
    print(f"业务记录已生成，用时 {time.perf_counter() - started:.0f} 秒：{counts.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
