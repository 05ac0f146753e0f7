"""Roles and what each may do. A grant is (user, role, organisation) and covers the whole subtree.

三员分立 (DOMAIN-RULES §7.1): the system, security and audit administrators each hold only their own
powers, see no member data, and no account may hold two of them or an administrator role beside a
business role. Member self-service is not a grant: it follows from the account being linked to a Member.
"""

from django.db import models


class Role(models.TextChoices):
    DISTRICT_ADMIN = "district_admin", "区委组织部管理员"
    COMMITTEE_ADMIN = "committee_admin", "党（工）委管理员"
    BRANCH_WORKER = "branch_worker", "支部党务工作者"
    SYSTEM_ADMIN = "system_admin", "系统管理员"
    SECURITY_ADMIN = "security_admin", "安全管理员"
    AUDIT_ADMIN = "audit_admin", "审计管理员"


ADMINISTRATOR_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})
WORKER_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.COMMITTEE_ADMIN, Role.BRANCH_WORKER})

_WORKER = {"org.view", "member.view", "member.manage", "member.import", "member.export", "notification.greeting"}

CAPABILITIES: dict[str, frozenset[str]] = {
    # The wording of every kind of message is the district's: one voice for the whole district; so is the
    # holiday calendar (节假日安排) every working-day deadline counts on.
    Role.DISTRICT_ADMIN: frozenset(_WORKER | {"org.manage", "member.reveal", "notification.template",
                                              "transfer.approve", "calendar.manage",
                                              "recruitment.approve"}),
    # Approving and accepting transfers is the 基层党委's act (DOMAIN-RULES §4), not a branch worker's.
    # So is consenting to, pre-reviewing and approving 发展党员 (DOMAIN-RULES §1.4; services check §22 too).
    Role.COMMITTEE_ADMIN: frozenset(_WORKER | {"org.manage", "member.reveal", "transfer.approve",
                                               "recruitment.approve"}),
    Role.BRANCH_WORKER: frozenset(_WORKER),
    # Administrators act on the system, not on party data: their capabilities are global.
    Role.SYSTEM_ADMIN: frozenset({"user.manage"}),
    Role.SECURITY_ADMIN: frozenset({"grant.manage", "org.directory"}),
    Role.AUDIT_ADMIN: frozenset({"audit.view", "audit.export"}),
}

GLOBAL_CAPABILITIES = frozenset({"user.manage", "grant.manage", "org.directory", "audit.view", "audit.export"})

# Which roles the security administrator may grant on which kind of organisation is not restricted:
# a committee admin on a branch is unusual but harmless. The district admin is granted on the root.
