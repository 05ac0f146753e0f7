"""One settings module, driven by the environment (and a local, git-ignored `.env`).

Every knob that differs between a laptop, CI and production is an environment variable; nothing secret
lives in the repository. `make run` writes a `.env` with fresh random keys on first use.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _load_dotenv(path: Path) -> None:
    """Read KEY=VALUE lines into os.environ without overriding what the environment already says."""
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            os.environ.setdefault(key.strip(), value.strip().strip('"').strip("'"))


_load_dotenv(BASE_DIR / ".env")


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"环境变量 {name} 未设置（运行 make run 会自动生成 .env）")
    return value


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = [h for h in env("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
VAR_DIR = Path(env("DANGJIAN_VAR_DIR", str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "huey.contrib.djhuey",
    "dangjian.core",
    "dangjian.audit",
    "dangjian.orgs",
    "dangjian.accounts",
    "dangjian.members",
    "dangjian.notifications",
    "dangjian.meetings",
    "dangjian.dues",
    "dangjian.transfers",
    "dangjian.recruitment",
    "dangjian.bases",
    "dangjian.api",
    "dangjian.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "dangjian.accounts.middleware.SessionRenewalMiddleware",
    "dangjian.accounts.middleware.ApiTokenMiddleware",
    "dangjian.core.middleware.PublicRateLimitMiddleware",
    "dangjian.accounts.middleware.LoginPolicyMiddleware",
    "dangjian.accounts.middleware.ScopeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "dangjian.core.middleware.ContentSecurityPolicyMiddleware",
    "dangjian.core.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dangjian.web.context_processors.navigation",
            ],
        },
    },
]

# SQLite in WAL mode by default; DATABASE_URL switches to PostgreSQL.
# CONN_MAX_AGE is always set: without persistent connections PostgreSQL pages are several times slower.
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'dangjian.sqlite3'}"
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=600, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of failing mid-transaction.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA busy_timeout=20000; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-64000;"
        ),
    }
else:
    # Parallel workers for one query: 0 by default. On the 2-core machine of the benchmark they cost more to
    # start than they save on the platform's short queries (dues statistics 45.7 -> 10.9 ms, arrears list
    # 41.9 -> 8.2 ms, docs/performance.md §8); a database server with many cores may allow some.
    # JIT off: the planner's cost of the workbench's warnings query (a subquery per organisation) crossed the
    # JIT threshold and compiling took 330 ms of the 455 (§8); no query of the platform gains from it.
    DANGJIAN_PG_PARALLEL_WORKERS = int(os.environ.get("DANGJIAN_PG_PARALLEL_WORKERS", "0"))
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        f"-c max_parallel_workers_per_gather={DANGJIAN_PG_PARALLEL_WORKERS} -c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "accounts:login"
# 国密 mode (DOMAIN-RULES §7.2): SM4 for new field keys (`id:sm4:…`), HMAC-SM3 lookup digests, SM3 audit chain,
# PBKDF2-HMAC-SM3 passwords. Switching on an existing database: add an SM4 key first in DANGJIAN_FIELD_KEYS,
# then `manage.py rotate_field_keys --rehash` (docs/security.md).
DANGJIAN_GM_MODE = env_bool("DANGJIAN_GM_MODE", False)
# The first hasher hashes new passwords; the others still verify older hashes (upgraded at the next login).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "dangjian.accounts.hashers.PBKDF2SM3PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if DANGJIAN_GM_MODE:
    PASSWORD_HASHERS.insert(0, PASSWORD_HASHERS.pop(1))
AUTH_PASSWORD_VALIDATORS = [
    # DOMAIN-RULES §7.1: ≥ 8 characters with 3 of the 4 classes (upper, lower, digit, symbol); no reuse.
    {"NAME": "dangjian.accounts.passwords.ComplexityValidator", "OPTIONS": {"min_length": 8, "min_classes": 3}},
    {"NAME": "dangjian.accounts.passwords.PasswordHistoryValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(env("DANGJIAN_MEDIA_ROOT", str(VAR_DIR / "media")))  # shared storage with several app servers
# Uploads, exports and audit archives hold personal data: readable by the service account (and its group) only.
FILE_UPLOAD_PERMISSIONS = 0o640
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750

# --- Login security (DOMAIN-RULES §7.1 身份鉴别; docs: dangjian/accounts/throttle.py, policy.py) --------
# A password expires this many days after it was set (0: never); the last N passwords may not be reused.
DANGJIAN_PASSWORD_MAX_AGE_DAYS = int(env("DANGJIAN_PASSWORD_MAX_AGE_DAYS", "90"))
DANGJIAN_PASSWORD_HISTORY = int(env("DANGJIAN_PASSWORD_HISTORY", "5"))
# This many failed logins lock the account name and, separately, the source address for the minutes below.
DANGJIAN_LOGIN_MAX_FAILURES = int(env("DANGJIAN_LOGIN_MAX_FAILURES", "5"))
DANGJIAN_LOGIN_LOCKOUT_MINUTES = int(env("DANGJIAN_LOGIN_LOCKOUT_MINUTES", "30"))
# Login requests (password or code) per source address and minute; more get 429.
DANGJIAN_LOGIN_RATE_PER_MINUTE = int(env("DANGJIAN_LOGIN_RATE_PER_MINUTE", "20"))
# Any request from nobody signed in (public pages, map data, API without a token), per address and minute; 0: off.
# Generous because a whole office often reaches the platform through one address.
DANGJIAN_PUBLIC_RATE_PER_MINUTE = int(env("DANGJIAN_PUBLIC_RATE_PER_MINUTE", "300"))
# A TOTP second factor for every administrator and worker (anyone holding a role); optional for members.
DANGJIAN_REQUIRE_TOTP_FOR_STAFF = env_bool("DANGJIAN_REQUIRE_TOTP_FOR_STAFF", True)
DANGJIAN_TOTP_ISSUER = env("DANGJIAN_TOTP_ISSUER", env("DANGJIAN_DISTRICT_NAME", "示范区") + "智慧党建")

SESSION_COOKIE_AGE = 30 * 60
# Idle timeout: activity restarts the 30 minutes. SessionRenewalMiddleware renews at most once a minute
# instead of SESSION_SAVE_EVERY_REQUEST, which wrote the session row on every request (on SQLite the
# workers then queue for the write lock: docs/performance.md).
DANGJIAN_SESSION_RENEW_SECONDS = int(env("DANGJIAN_SESSION_RENEW_SECONDS", "60"))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "dangjian.web.views.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content-Security-Policy (core.middleware): code only from the platform itself, never inline. Map tiles may come
# from the intranet tile server named in DANGJIAN_MAP_TILE_URL.
DANGJIAN_MAP_TILE_URL = env("DANGJIAN_MAP_TILE_URL", "")
_TILE_ORIGIN = "/".join(DANGJIAN_MAP_TILE_URL.split("/")[:3]) if DANGJIAN_MAP_TILE_URL.startswith("http") else ""
DANGJIAN_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",  # style= attributes carry no code
    "img-src": f"'self' data: blob: {_TILE_ORIGIN}".strip(),
    "connect-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}
# HSTS once the site is served over HTTPS (TLS ends at nginx; gunicorn trusts its X-Forwarded-Proto only).
SECURE_HSTS_SECONDS = int(env("DJANGO_HSTS_SECONDS", "31536000" if SESSION_COOKIE_SECURE else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", "WARNING")},
    # run_huey gives the queue's logger a handler of its own; passing records up as well printed each twice.
    "loggers": {"huey": {"propagate": False}},
}

# --- Personal-data protection -------------------------------------------------------------------
# Field keys: "id:base64key" pairs, comma separated, the first encrypts, all decrypt (rotation).
DANGJIAN_FIELD_KEYS = env("DANGJIAN_FIELD_KEYS")
# Key of the keyed hash (HMAC-SHA256) that makes encrypted ID numbers and phones searchable by exact value.
DANGJIAN_LOOKUP_KEY = env("DANGJIAN_LOOKUP_KEY")
# The privacy notice (个人信息保护法 第十七条) has a version; a new version asks everyone to read and agree again.
DANGJIAN_PRIVACY_NOTICE_VERSION = env("DANGJIAN_PRIVACY_NOTICE_VERSION", "2026-12")
# The applicants' notice (《入党申请人个人信息处理告知书》, recruitment) is a text of its own with its own version:
# changing it must not ask every user of the platform to agree again.
DANGJIAN_APPLICANT_NOTICE_VERSION = env("DANGJIAN_APPLICANT_NOTICE_VERSION", "2026-12")
# How people reach the 组织部 about their personal information (phone, address, e-mail), shown in the notice;
# empty: the notice points to the person's own branch and the 组织部 by name only.
DANGJIAN_PRIVACY_CONTACT = env("DANGJIAN_PRIVACY_CONTACT", "")
# A recruitment case that ended without admission (withdrawn, not passed) keeps the person's data this many days
# after it ended, then is anonymised (第十九条: no longer than needed). 【L】 local practice: three years.
DANGJIAN_APPLICANT_RETENTION_DAYS = int(env("DANGJIAN_APPLICANT_RETENTION_DAYS", "1095"))
# The audit log stays online (searchable) this many months, then is archived with its hash chain intact;
# 网络安全法 第二十三条 requires at least 6 months (DOMAIN-RULES §7.1), so less is refused at start-up.
DANGJIAN_AUDIT_ONLINE_MONTHS = int(env("DANGJIAN_AUDIT_ONLINE_MONTHS", "12"))

# --- Rules that are local practice or unverified (DOMAIN-RULES 【U】/【L】): settings, not code -------
DANGJIAN_RULES = {
    # DOMAIN-RULES §6: warn when a committee's term ends within this many months.
    "term_warning_months": int(env("DANGJIAN_TERM_WARNING_MONTHS", "6")),
    "branch_min_full_members": 3,  # 支部工作条例 第四条
    "branch_max_members": 50,  # 支部工作条例 第四条
    "general_branch_min_members": 50,  # 党和国家机关基层组织工作条例 第六条
    "general_branch_max_members": 100,
    "primary_committee_min_members": 100,  # 同上 第五条
}

# Imports: the biggest file a worker may upload, and how many rows one import may hold.
DANGJIAN_IMPORT_MAX_BYTES = int(env("DANGJIAN_IMPORT_MAX_BYTES", str(20 * 1024 * 1024)))
DANGJIAN_IMPORT_MAX_ROWS = int(env("DANGJIAN_IMPORT_MAX_ROWS", "200000"))
# SQLite page cache (MB) while an import writes (members/roster.py `_import_page_cache`); 0 keeps the usual
# 64 MB. Used only as far as the import touches pages: a district's database never fills it.
DANGJIAN_IMPORT_SQLITE_CACHE_MB = int(env("DANGJIAN_IMPORT_SQLITE_CACHE_MB", "1024"))
DATA_UPLOAD_MAX_MEMORY_SIZE = DANGJIAN_IMPORT_MAX_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = DANGJIAN_IMPORT_MAX_BYTES

DANGJIAN_DISTRICT_NAME = env("DANGJIAN_DISTRICT_NAME", "示范区")


# --- Background and periodic jobs (huey; ARCHITECTURE §2) ----------------------------------------------
# SQLite storage beside the database by default; Redis when REDIS_URL is set (several workers, machines).
REDIS_URL = os.environ.get("REDIS_URL", "")
HUEY = {
    "name": "dangjian",
    "immediate": False,
    "utc": False,  # crontab times are local (Django sets the process zone to TIME_ZONE, Asia/Shanghai)
    "consumer": {"workers": int(env("DANGJIAN_WORKERS", "2")), "worker_type": "thread"},
}
if REDIS_URL:
    HUEY.update({"huey_class": "huey.RedisHuey", "url": REDIS_URL})
    # Shared by every worker and server: one WeChat access token for all instead of each knocking out the others'.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    HUEY.update({"huey_class": "huey.SqliteHuey", "filename": str(VAR_DIR / "huey.sqlite3")})

# Every periodic job and when it runs (cron: minute hour day month weekday, Asia/Shanghai), in one place.
# dangjian.core.jobs reads this table; `manage.py jobs` lists it and runs one job by hand.
DANGJIAN_SCHEDULE = {
    "notifications.political_birthdays": env("DANGJIAN_CRON_POLITICAL_BIRTHDAYS", "0 8 * * *"),
    "notifications.digests": env("DANGJIAN_CRON_DIGESTS", "5 8 * * *"),
    "notifications.deliveries": env("DANGJIAN_CRON_DELIVERIES", "* * * * *"),
    "orgs.term_reminders": env("DANGJIAN_CRON_TERM_REMINDERS", "30 7 * * 1"),
    "meetings.theme_day_notices": env("DANGJIAN_CRON_THEME_DAY_NOTICES", "0 7 * * *"),
    "meetings.freeze_due": env("DANGJIAN_CRON_MEETING_FREEZE", "10 0 * * *"),
    "transfers.reminders": env("DANGJIAN_CRON_TRANSFER_REMINDERS", "0 7 * * *"),
    "recruitment.due_reminders": env("DANGJIAN_CRON_RECRUITMENT_DUE", "15 7 * * *"),
    "dues.arrears_reminders": env("DANGJIAN_CRON_DUES_ARREARS", "0 9 10 * *"),  # monthly, the 10th
    "bases.waiting_list_offers": env("DANGJIAN_CRON_BASES_OFFERS", "*/10 * * * *"),
    "audit.archive": env("DANGJIAN_CRON_AUDIT_ARCHIVE", "30 2 1 * *"),  # monthly, the 1st, at night
    "recruitment.anonymise_ended": env("DANGJIAN_CRON_RECRUITMENT_ANONYMISE", "45 2 * * *"),
}

# --- Notifications (推送) ------------------------------------------------------------------------------
# Links in pushed messages point here (the member centre as the official account's menu opens it).
DANGJIAN_PUBLIC_URL = env("DANGJIAN_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# Non-urgent pushes wait out these hours (HH:MM-HH:MM, may wrap midnight); urgent ones do not.
DANGJIAN_QUIET_HOURS = env("DANGJIAN_QUIET_HOURS", "21:00-08:00")
# A failed push is retried after base × 2^(attempt-1) seconds, capped, until this many attempts.
DANGJIAN_PUSH_MAX_ATTEMPTS = int(env("DANGJIAN_PUSH_MAX_ATTEMPTS", "6"))
DANGJIAN_PUSH_BACKOFF_SECONDS = int(env("DANGJIAN_PUSH_BACKOFF_SECONDS", "60"))
DANGJIAN_PUSH_BACKOFF_MAX_SECONDS = int(env("DANGJIAN_PUSH_BACKOFF_MAX_SECONDS", str(6 * 3600)))
# A push claimed longer ago than this with no outcome recorded is a crash between send and record. Keep it
# well under 10 minutes: WeChat recognises a resend by client_msg_id for 10 minutes only; channel timeouts
# (≤ 15 s) make any live send far shorter.
DANGJIAN_PUSH_STALE_SECONDS = int(env("DANGJIAN_PUSH_STALE_SECONDS", "180"))
# The longest reply (留言) a member may send, in characters.
DANGJIAN_REPLY_MAX_LENGTH = int(env("DANGJIAN_REPLY_MAX_LENGTH", "500"))

# Email (SMTP): on when EMAIL_HOST is set.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(env("EMAIL_TIMEOUT", "15"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "dangjian@localhost")

# SMS through an HTTP gateway (the Aliyun SendSms protocol); on when the access key is set.
DANGJIAN_SMS = {
    "url": env("DANGJIAN_SMS_URL", "https://dysmsapi.aliyuncs.com/"),
    "access_key_id": os.environ.get("DANGJIAN_SMS_ACCESS_KEY_ID", ""),
    "access_key_secret": os.environ.get("DANGJIAN_SMS_ACCESS_KEY_SECRET", ""),
    "sign_name": env("DANGJIAN_SMS_SIGN_NAME", "智慧党建"),
    "template_code": os.environ.get("DANGJIAN_SMS_TEMPLATE_CODE", ""),
    "timeout": int(env("DANGJIAN_SMS_TIMEOUT", "10")),
}

# WeChat official account (公众号): template messages and web authorisation; on when the app id is set.
DANGJIAN_WECHAT = {
    "api_base": env("DANGJIAN_WECHAT_API_BASE", "https://api.weixin.qq.com").rstrip("/"),
    "oauth_base": env("DANGJIAN_WECHAT_OAUTH_BASE", "https://open.weixin.qq.com").rstrip("/"),
    "app_id": os.environ.get("DANGJIAN_WECHAT_APP_ID", ""),
    "app_secret": os.environ.get("DANGJIAN_WECHAT_APP_SECRET", ""),
    "template_id": os.environ.get("DANGJIAN_WECHAT_TEMPLATE_ID", ""),
    "timeout": int(env("DANGJIAN_WECHAT_TIMEOUT", "10")),
}

# 组织生活 (DOMAIN-RULES §2): local practice (【L】) and unverified (【U】) numbers are settings.
DANGJIAN_MEETINGS = {
    "frequencies": {"general_meeting": "quarter", "committee_meeting": "month", "group_meeting": "month",
                    "theme_day": "month", "life_meeting": "year", "member_appraisal": "year",
                    # 【L】 the district's practice; empty: no 党课 rule in the compliance table.
                    "party_lecture": env("DANGJIAN_PARTY_LECTURE_FREQUENCY", "quarter") or None},
    "confirm_days": int(env("DANGJIAN_MEETING_CONFIRM_DAYS", "7")),
    "theme_day_week": 1, "theme_day_weekday": 1, "theme_day_time": "09:00",  # first Tuesday 【L】
    "theme_day_notice_days": int(env("DANGJIAN_THEME_DAY_NOTICE_DAYS", "3")),
    "half_counts_as_quorum": True,  # 【U】 DOMAIN-RULES §9.15
    "inactive_months": 6,  # 党章 第九条
    "attachment_max_bytes": 10 * 1024 * 1024,
}

# 组织关系转接 (DOMAIN-RULES §4): letter validity (30 days by default, at most 3 months) and reminder ages.
DANGJIAN_TRANSFERS = {
    "letter_valid_days": int(env("DANGJIAN_LETTER_VALID_DAYS", "30")),
    "letter_max_valid_days": 92,
    "temporary_max_valid_days": 183,  # 党员证明信: stays under 6 months
    "pending_remind_days": int(env("DANGJIAN_TRANSFER_REMIND_DAYS", "7")),
    "pending_escalate_days": int(env("DANGJIAN_TRANSFER_ESCALATE_DAYS", "15")),
    "expiring_remind_days": 5,
    "committee_capability": "transfer.approve",  # approving and accepting is the 基层党委's
}

# 党费 (DOMAIN-RULES §3); dangjian.dues.rules merges this over its defaults (the rate bands live there).
DANGJIAN_DUES = {
    # "categories": {"farmer": {"fen": 50}},  # 农民党员 0.2–1 元/月，由省级党委确定 【L】
    "rounding": env("DANGJIAN_DUES_ROUNDING", "half_up"),  # 取整到分：half_up | down | up 【U】
    "base_max_fen": int(env("DANGJIAN_DUES_BASE_MAX_FEN", "10000000")),  # 月基数合理上限 10 万元
    "arrears_warning_months": [3, 5],
    "self_departure_months": 6,  # 党章 第九条
    "backpay_max_months": 6,
    "prepay_max_months": 2,  # 一次至多交满本季度 【U】
    "centre_voluntary_fen": 100_000,  # ≥ 1000 元的自愿多交全部上缴中央
}

# 党建阵地与预约 (dangjian/bases/rules.py); all 【L】 local practice. The map's tile server is an intranet one
# (DANGJIAN_MAP_TILE_URL, also allowed by the CSP above); without it the map draws the points on a plain grid.
DANGJIAN_BASES = {
    "cancel_cutoff_hours": int(env("DANGJIAN_BASES_CANCEL_CUTOFF_HOURS", "24")),
    "offer_response_hours": int(env("DANGJIAN_BASES_OFFER_HOURS", "24")),
    "booking_horizon_days": 90,
    "tile_url": DANGJIAN_MAP_TILE_URL,
    "tile_attribution": env("DANGJIAN_MAP_TILE_ATTRIBUTION", ""),
    "map_center": [39.9087, 116.3975],
    "map_zoom": 12,
}

# 发展党员 (DOMAIN-RULES §1): dangjian.recruitment.rules merges this over its DEFAULTS (the dates each rule set
# took effect, the 预备期止 reading, the due-list colours, the statistics' 青年 age and 一线 occupations).
DANGJIAN_RECRUITMENT = {
    "probation_end": env("DANGJIAN_PROBATION_END", "same_day"),  # 【U】 same_day | day_before
    "amber_days": int(env("DANGJIAN_RECRUITMENT_AMBER_DAYS", "14")),
}
