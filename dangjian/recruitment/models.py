"""发展党员全程纪实: one recruitment case (发展党员档案) per person, one dated record per step.

A case belongs to the branch that develops the person (`organization`, with its path copied into
`org_path` like every scoped row) and follows the person when they move (services.case_move): its steps
hang off the case and are scoped through it, so nothing else needs rewriting. The person is not a member
until the 党委 approves the admission (step 17); until then their identity lives here, encrypted like the
roster's. Rules (rules.py) and the order of steps (workflow.py) are data; this file only stores facts.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from dangjian.core import codes, crypto
from dangjian.core.scoping import ScopedModel


class Stage(models.TextChoices):
    APPLICANT = "applicant", "入党申请人"
    ACTIVIST = "activist", "入党积极分子"
    DEVELOPMENT_TARGET = "development_target", "发展对象"
    PROBATIONARY = "probationary", "预备党员"
    FULL_MEMBER = "full_member", "正式党员"


class CaseStatus(models.TextChoices):
    OPEN = "open", "进行中"
    COMPLETED = "completed", "已转正归档"
    ENDED = "ended", "已终止"


class ConsentMethod(models.TextChoices):
    """How the applicant consented to the processing of their personal information (PIPL 第十四、二十九条)."""

    WRITTEN = "written", "书面签字"  # signed the printed 告知书 (views.privacy_notice)
    ONLINE = "online", "本人在线确认"  # confirmed on their own phone


class Body(models.TextChoices):
    """Who decided or acted (DOMAIN-RULES §1.1, the 谁办 column)."""

    APPLICANT = "applicant", "申请人本人"
    BRANCH = "branch", "党支部"
    BRANCH_COMMITTEE = "branch_committee", "党支部委员会会议"
    BRANCH_GENERAL = "branch_general", "党支部党员大会"
    COMMITTEE = "committee", "上级党委"
    DISTRICT = "district", "县级党委组织部门"


class Outcome(models.TextChoices):
    PASSED = "passed", "通过"
    FAILED = "failed", "未通过"
    EXTEND = "extend", "延长预备期"
    CANCEL = "cancel", "取消预备党员资格"


class RecruitmentCase(ScopedModel):
    organization = models.ForeignKey("orgs.Organization", verbose_name="培养党组织", on_delete=models.PROTECT,
                                     related_name="recruitment_cases")
    org_path = models.CharField(max_length=255, editable=False)
    # The person (until admission they are not on the roster)
    name = models.CharField("姓名", max_length=50)
    gender = models.CharField("性别", max_length=8, choices=codes.Gender.choices)
    ethnicity = models.CharField("民族", max_length=2, choices=codes.ETHNICITY_CHOICES, default=codes.HAN)
    birth_date = models.DateField("出生日期")
    id_number_encrypted = models.TextField(editable=False)
    id_number_digest = models.CharField(max_length=64, editable=False, db_index=True)
    id_number_masked = models.CharField("身份证号", max_length=18, editable=False)
    phone_encrypted = models.TextField(blank=True, editable=False)
    phone_masked = models.CharField("手机号码", max_length=11, blank=True, editable=False)
    education = models.CharField("学历", max_length=2, choices=codes.EDUCATION_CHOICES)
    occupation = models.CharField("职业类别", max_length=16, choices=codes.Occupation.choices)
    work_unit = models.CharField("工作或学习单位", max_length=100, blank=True)
    is_mobile_person = models.BooleanField("流动人员", default=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="本人登录账号", null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="recruitment_cases")
    # A ForeignKey, not one-to-one: a person whose probationary membership was cancelled may apply again, and
    # the second admission gives them their old roster record back (members.services._rejoin).
    member = models.ForeignKey("members.Member", verbose_name="党员档案", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="recruitment_cases")
    # Where the case stands
    stage = models.CharField("阶段", max_length=24, choices=Stage.choices, default=Stage.APPLICANT)
    status = models.CharField("状态", max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    end_reason = models.CharField("终止原因", max_length=200, blank=True)
    # Key dates, copied from the steps so lists, deadlines and statistics read one row
    applied_on = models.DateField("递交申请日期")
    activist_on = models.DateField("确定为入党积极分子日期", null=True, blank=True)
    development_target_on = models.DateField("确定为发展对象日期", null=True, blank=True)
    admitted_on = models.DateField("入党日期（支部党员大会通过）", null=True, blank=True)
    approved_on = models.DateField("党委审批日期", null=True, blank=True)
    admitted_age = models.PositiveSmallIntegerField("审批时年龄", null=True, blank=True)  # statistics' 青年
    probation_ends_on = models.DateField("预备期满日期", null=True, blank=True)
    extension_months = models.PositiveSmallIntegerField("延长预备期（月）", default=0)
    converted_on = models.DateField("转正日期", null=True, blank=True)
    ended_on = models.DateField("终止日期", null=True, blank=True)
    # The next thing due (workflow + rules), kept current by every step: the due list is one index range
    next_step = models.PositiveSmallIntegerField("下一步", null=True, blank=True)
    next_due = models.DateField("下一期限", null=True, blank=True)
    next_due_label = models.CharField("下一期限事项", max_length=60, blank=True)
    next_due_article = models.CharField("下一期限依据", max_length=120, blank=True)
    # The step that settles it (0: none, e.g. a 思想汇报): a committee's step is reminded to the committee
    next_due_step = models.PositiveSmallIntegerField("下一期限所属步骤", null=True, blank=True)
    # The applicant's consent (PIPL 第十七、二十九条): which 告知书 they read, when and how they agreed. Required
    # by case_create; blank only on cases opened before consent was recorded.
    consent_version = models.CharField("个人信息处理告知书版本", max_length=20, blank=True)
    consent_on = models.DateField("个人信息处理同意日期", null=True, blank=True)
    consent_method = models.CharField("个人信息处理同意方式", max_length=8, choices=ConsentMethod.choices, blank=True)
    # Set when the retention period after an ending without admission ran out (PIPL 第十九条, services.
    # cases_anonymise): from then on the row holds no personal information, only what the statistics count.
    anonymised_at = models.DateTimeField("匿名化时间", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "发展党员档案"
        ordering = ["-applied_on", "-id"]
        indexes = [
            models.Index(fields=["org_path", "status", "stage"], name="case_scope_stage"),
            # The due list walks case_due in date order, the case list case_list_order newest first, each
            # stopping after a page instead of sorting a city's cases. Both lead with the status, so SQLite's
            # planner prefers them to any index that only offers the scope's org_path range (bench/recruitment.py).
            models.Index(fields=["status", "next_due", "org_path"], name="case_due"),
            models.Index(fields=["status", "-applied_on", "-id"], name="case_list_order"),
            # The statistics (selectors.statistics_for_paths): the counts by date from this index alone, and
            # the people admitted in a period.
            models.Index(fields=["org_path", "applied_on", "activist_on", "development_target_on", "converted_on"],
                         name="case_stats_dates"),
            models.Index(fields=["approved_on", "org_path"], name="case_approved"),
            # The nightly anonymisation (jobs.anonymise_ended) in ended_on order: partial, so it holds only the
            # ended cases still waiting for it and no other query can use it; led by the status so SQLite's
            # planner takes it (status = ? and ended_on < ?) over case_list_order's status alone.
            models.Index(fields=["status", "ended_on", "id"], name="case_to_anonymise",
                         condition=Q(status="ended", member__isnull=True, anonymised_at__isnull=True)),
        ]
        constraints = [
            # 发展党员工作细则: one person is developed by one 党组织 at a time (the service says so first).
            models.UniqueConstraint(fields=["id_number_digest"], condition=Q(status="open"),
                                    name="one_open_case_per_person"),
        ]

    class ScopeMeta:
        path = "org_path"
        member = "member_id"
        # a 预备党员's case goes where the member goes (细则 第三十四条): members.services.member_move calls it
        member_moved = "dangjian.recruitment.services.case_follow_member"

    def __str__(self):
        return f"{self.name}（{self.get_stage_display()}）"


class RecruitmentStep(models.Model):
    """One dated, attributed record of a step (DOMAIN-RULES §1.8). Reached only through its case, which was
    loaded through the scope; never edited once entered (a wrong record is superseded by a correction)."""

    case = models.ForeignKey(RecruitmentCase, on_delete=models.CASCADE, related_name="steps")
    number = models.PositiveSmallIntegerField("步骤")
    on = models.DateField("日期")
    body = models.CharField("决定或办理主体", max_length=20, choices=Body.choices)
    acting_org = models.ForeignKey("orgs.Organization", verbose_name="办理党组织", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    meeting = models.ForeignKey("meetings.Meeting", verbose_name="会议", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    meeting_ref = models.CharField("会议（文字记录）", max_length=100, blank=True)
    outcome = models.CharField("结果", max_length=16, choices=Outcome.choices, default=Outcome.PASSED)
    # A vote (steps 15 and 23; DOMAIN-RULES §1.3)
    voters_expected = models.PositiveIntegerField("应到会有表决权党员", null=True, blank=True)
    voters_present = models.PositiveIntegerField("实到会有表决权党员", null=True, blank=True)
    written_opinions = models.PositiveIntegerField("书面意见", null=True, blank=True)
    yes = models.PositiveIntegerField("赞成", null=True, blank=True)
    no = models.PositiveIntegerField("反对", null=True, blank=True)
    abstain = models.PositiveIntegerField("弃权", null=True, blank=True)
    # What the step's form asks besides (公示 dates, training hours, the review's conclusion …): see workflow.py
    details = models.JSONField("其他事项", default=dict, blank=True)
    note = models.CharField("备注", max_length=500, blank=True)
    rule_version = models.CharField("适用规则版本", max_length=8)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    entered_by_label = models.CharField("录入人", max_length=100)
    entered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "发展党员步骤记录"
        ordering = ["case_id", "on", "number", "id"]
        indexes = [models.Index(fields=["number", "on"], name="case_step_number_on")]  # statistics by period

    def __str__(self):
        return f"{self.case_id}#{self.number} {self.on}"


class PersonRole(models.TextChoices):
    MENTOR = "mentor", "培养联系人"
    SPONSOR = "sponsor", "入党介绍人"


class CasePerson(models.Model):
    """A mentor (step 5) or a sponsor (step 9): a member of the roster, named on a step."""

    step = models.ForeignKey(RecruitmentStep, on_delete=models.CASCADE, related_name="people")
    case = models.ForeignKey(RecruitmentCase, on_delete=models.CASCADE, related_name="people")
    role = models.CharField("角色", max_length=16, choices=PersonRole.choices)
    member = models.ForeignKey("members.Member", verbose_name="党员", on_delete=models.PROTECT, related_name="+")
    name = models.CharField("姓名", max_length=50)  # snapshot for the dossier

    class Meta:
        ordering = ["case_id", "step_id", "id"]

    def __str__(self):
        return f"{self.get_role_display()} {self.name}"


class DocumentKind(models.TextChoices):
    APPLICATION = "application", "入党申请书"
    THOUGHT_REPORT = "thought_report", "思想汇报"
    ACTIVIST_RECORD = "activist_record", "入党积极分子培养考察登记表"
    REVIEW = "review", "政治审查结论性材料"
    APPLICATION_FORM = "application_form", "入党志愿书（扫描件）"
    PROBATION_RECORD = "probation_record", "预备党员教育考察登记表"
    CONVERSION = "conversion", "转正申请书"
    OTHER = "other", "其他材料"


class CaseDocument(models.Model):
    case = models.ForeignKey(RecruitmentCase, on_delete=models.CASCADE, related_name="documents")
    step = models.ForeignKey(RecruitmentStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents")
    kind = models.CharField("材料类型", max_length=20, choices=DocumentKind.choices)
    file = models.FileField("文件", upload_to="recruitment/%Y/%m/")
    name = models.CharField("文件名", max_length=150)
    size = models.PositiveIntegerField("大小（字节）")
    sha256 = models.CharField(max_length=64)
    uploaded_by_label = models.CharField("上传人", max_length=100)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case_id", "uploaded_at", "id"]

    def __str__(self):
        return self.name


class CaseMove(models.Model):
    """The case followed the person to another 党组织 (细则 第十二条: training time continues)."""

    case = models.ForeignKey(RecruitmentCase, on_delete=models.CASCADE, related_name="moves")
    from_org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+")
    to_org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+")
    on = models.DateField("日期")
    actor_label = models.CharField("办理人", max_length=100)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case_id", "on", "id"]

    def __str__(self):
        return f"{self.on} {self.from_org_id}→{self.to_org_id}"


class RecruitmentPlan(ScopedModel):
    """A 党委's yearly recruitment plan, by category (细则 第四条: 发展党员工作计划)."""

    organization = models.ForeignKey("orgs.Organization", verbose_name="党委", on_delete=models.PROTECT,
                                     related_name="recruitment_plans")
    org_path = models.CharField(max_length=255, editable=False)
    year = models.PositiveSmallIntegerField("年度")
    total = models.PositiveIntegerField("计划发展党员")
    women = models.PositiveIntegerField("其中女性", default=0)
    young = models.PositiveIntegerField("其中青年", default=0)
    college = models.PositiveIntegerField("其中大专及以上", default=0)
    two_new = models.PositiveIntegerField("其中“两新”组织", default=0)
    front_line = models.PositiveIntegerField("其中生产、工作一线", default=0)
    note = models.CharField("说明", max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "发展党员计划"
        ordering = ["org_path", "-year"]
        constraints = [models.UniqueConstraint(fields=["organization", "year"], name="one_plan_per_committee_year")]

    class ScopeMeta:
        path = "org_path"
        member = None


class LocalPractice(ScopedModel):
    """Local practices of DOMAIN-RULES §1.7 for an organisation and its subtree: every field blank = off.
    The nearest organisation (itself or an ancestor) that set a field decides it (rules.local_practice)."""

    organization = models.OneToOneField("orgs.Organization", verbose_name="党组织", on_delete=models.PROTECT,
                                        related_name="recruitment_practice")
    org_path = models.CharField(max_length=255, editable=False)
    applicant_wait_months = models.PositiveSmallIntegerField(
        "申请满几个月方可确定为入党积极分子", null=True, blank=True)
    thought_report_months = models.PositiveSmallIntegerField("思想汇报间隔（月）", null=True, blank=True)
    review_valid_months = models.PositiveSmallIntegerField("政治审查有效期（月）", null=True, blank=True)
    training_min_days = models.PositiveSmallIntegerField("集中培训不少于（天）", null=True, blank=True)
    training_min_hours = models.PositiveSmallIntegerField("集中培训不少于（学时）", null=True, blank=True)
    prereview_within_months = models.PositiveSmallIntegerField("预审须在报送后几个月内完成", null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "发展党员地方做法"

    class ScopeMeta:
        path = "org_path"
        member = None


crypto.register_encrypted(RecruitmentCase, "id_number_encrypted", digest="id_number_digest")
crypto.register_encrypted(RecruitmentCase, "phone_encrypted")
