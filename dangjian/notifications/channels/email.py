"""电子邮件: SMTP through Django's mail machinery (settings EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER,
EMAIL_HOST_PASSWORD, EMAIL_USE_TLS / EMAIL_USE_SSL, EMAIL_TIMEOUT, DEFAULT_FROM_EMAIL).

SMTP answers are mapped by their class: 5xx is permanent (give up), 4xx is a passing condition (retry),
and so is anything that left no answer (refused connection, timeout, dropped line).
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email

from .base import GIVE_UP, RETRY, SENT, Channel, Outgoing, SendResult, absolute_link

SMTP_MEANINGS = {
    421: "邮件服务器暂时不可用",
    450: "收件邮箱暂时不可用",
    451: "邮件服务器处理出错",
    452: "邮件服务器存储空间不足",
    535: "邮件服务器登录失败，请检查用户名和密码",
    550: "收件邮箱不存在或拒收",
    551: "收件人不在该邮件服务器",
    552: "收件邮箱已满或邮件过大",
    553: "收件邮箱地址不合法",
    554: "邮件被服务器拒绝",
}


def message_id(key: str) -> str:
    """The same delivery always carries the same Message-ID, so a mail store that de-duplicates by it
    keeps one copy of a resend (not all do: the channel is not idempotent)."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("> ") or "localhost"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def compose(outgoing: Outgoing) -> EmailMessage:
    """The email for one push: plain text, the link (if any) on its own line after the body."""
    body = outgoing.body.rstrip()
    link = absolute_link(outgoing.link)
    if link:
        body += f"\n\n查看详情：{link}"
    body += "\n\n（此邮件由智慧党建服务平台自动发送，请勿直接回复。）\n"
    return EmailMessage(
        subject=" ".join(outgoing.subject.split()),  # a header: no line breaks
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[outgoing.address],
        headers={"Message-ID": message_id(outgoing.key), "Auto-Submitted": "auto-generated"},
    )


def smtp_result(code: int, detail: str = "") -> SendResult:
    meaning = SMTP_MEANINGS.get(code) or ("邮件服务器拒绝" if code >= 500 else "邮件服务器暂时拒绝")
    if 400 <= code < 500:
        return SendResult(RETRY, f"smtp-{code}", f"{meaning}（{code}），稍后重试。{detail}".strip())
    return SendResult(GIVE_UP, f"smtp-{code}", f"{meaning}（{code}），已停止发送。{detail}".strip())


def _reply_text(raw) -> str:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    return " ".join(str(raw or "").split())[:120]


class EmailChannel(Channel):
    name = "email"
    label = "电子邮件"
    idempotent = False

    def configured(self) -> bool:
        return bool(settings.EMAIL_HOST)

    def send(self, outgoing: Outgoing) -> SendResult:
        if not self.configured():
            return SendResult(GIVE_UP, "not-configured", "电子邮件渠道未配置（缺少邮件服务器地址）。")
        try:
            validate_email(outgoing.address)
        except ValidationError:
            return SendResult(GIVE_UP, "invalid-address", "电子邮件地址格式不正确，无法发送。")
        message = compose(outgoing)
        try:
            message.connection = get_connection(fail_silently=False)
            message.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()), (550, b""))
            return smtp_result(code, _reply_text(reply))
        except smtplib.SMTPResponseException as error:  # sender refused, data refused, login refused, ...
            if error.smtp_code < 400:  # a reply the protocol did not expect (e.g. -1): the line went bad
                return SendResult(RETRY, "smtp-protocol", "邮件服务器应答异常，稍后重试。")
            return smtp_result(error.smtp_code, _reply_text(error.smtp_error))
        except smtplib.SMTPServerDisconnected as error:
            if isinstance(error.__context__, TimeoutError):  # smtplib reports a silent server this way
                return SendResult(RETRY, "timeout", "邮件服务器应答超时，稍后重试。")
            return SendResult(RETRY, "smtp-disconnected", "邮件服务器断开了连接，稍后重试。")
        except smtplib.SMTPNotSupportedError:
            return SendResult(GIVE_UP, "smtp-unsupported", "邮件服务器不支持所需的功能（如 STARTTLS），请检查邮件配置。")
        except smtplib.SMTPException as error:
            return SendResult(RETRY, "smtp-error", f"邮件发送出错，稍后重试：{error}")
        except TimeoutError:
            return SendResult(RETRY, "timeout", "连接邮件服务器超时，稍后重试。")
        except ConnectionRefusedError:
            return SendResult(RETRY, "connection-refused", "无法连接邮件服务器（连接被拒绝），稍后重试。")
        except ssl.SSLError as error:
            return SendResult(RETRY, "tls", f"与邮件服务器的加密连接失败，稍后重试：{error.reason or error}")
        except OSError as error:
            return SendResult(RETRY, "network", f"连接邮件服务器时网络出错，稍后重试：{error}")
        return SendResult(SENT, "OK", "邮件已由邮件服务器接收。", message.extra_headers["Message-ID"])
