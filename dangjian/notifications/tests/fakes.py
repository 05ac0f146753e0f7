"""Loopback stand-ins for the outside push services: a real SMTP server (aiosmtpd), an Aliyun-style SMS
gateway and a WeChat official-account API (http.server), each on 127.0.0.1 with a port the OS chose,
served from a background thread and stopped at fixture teardown.

They check what a real provider checks (the SMS signature, the WeChat access token, the template fields),
record what they accepted in `.received`, and can be told what to answer next:

    fake_sms.fail_next("isp.SYSTEM_ERROR", times=2)   # the next two sends are answered with that code
    fake_wechat.fail_next(43004)                      # the next template message: not subscribed
    fake_wechat.fail_next(Sleep(3))                   # the next request waits 3 s before answering
    fake_sms.fail_next(Status(503))                   # a bare HTTP 503 page, as a proxy would answer
    fake_smtp.refuse("someone@example.org", 550)      # RCPT TO answered 550 (or 451, ...)
    fake_smtp.data_refusal = "554 5.7.1 Spam"         # every message refused after DATA

Use them through the fixtures in conftest.py (`fake_smtp`, `fake_sms`, `fake_wechat`), which also point the
settings at them.
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import email
import email.policy
import hashlib
import hmac
import itertools
import json
import re
import socket
import threading
import urllib.parse
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Sleep:
    """A scripted answer: wait this long (interrupted at teardown), then answer normally."""

    seconds: float


@dataclass(frozen=True)
class Status:
    """A scripted answer: a bare HTTP status with a non-JSON body."""

    code: int
    body: str = "<html><body>Service Unavailable</body></html>"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, read, released): connecting to it is refused."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


class BlackHole:
    """A port that accepts TCP connections (the kernel's backlog does) and never says a word: the client
    times out waiting for a greeting or an answer."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind((LOOPBACK, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


# --- HTTP fakes ---------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the request threads: nothing outlives the fixture
    block_on_close = True


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass

    def do_GET(self):  # noqa: N802
        self._dispatch("GET")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def _dispatch(self, method):
        fake = self.server.fake
        try:
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload = fake.handle(method, url.path, query, body, self.headers)
            if isinstance(payload, bytes):
                data, ctype = payload, "text/html; charset=utf-8"
            else:
                data, ctype = json.dumps(payload, ensure_ascii=False).encode(), "application/json; charset=utf-8"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout): nothing to answer
            pass


class HttpFake:
    """A fake HTTP API: subclasses implement `route(method, path, query, body, headers)`."""

    def __init__(self):
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.script: collections.deque = collections.deque()
        self.requests: list[dict] = []  # every request, as (method, path, query, body)
        self.httpd = _Server((LOOPBACK, 0), _Handler)
        self.httpd.fake = self
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       name=f"{type(self).__name__}-server", daemon=True)
        self.running = False

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self):
        self.thread.start()
        self.running = True
        return self

    def stop(self):
        """Stop answering and free the port; later requests are refused (a server that went away)."""
        if not self.running:
            return
        self.running = False
        self.stopping.set()  # wakes scripted sleeps
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    def fail_next(self, answer, times: int = 1):
        """Answer the next `times` requests of the scripted kind with `answer` (a provider code, Sleep or
        Status); scripted answers are used in order."""
        with self.lock:
            self.script.extend([answer] * times)

    def _scripted(self):
        with self.lock:
            return self.script.popleft() if self.script else None

    def handle(self, method, path, query, body, headers):
        with self.lock:
            self.requests.append({"method": method, "path": path, "query": query, "body": body})
        return self.route(method, path, query, body, headers)

    def route(self, method, path, query, body, headers):
        raise NotImplementedError

    def scripted_answer(self):
        """(answer, None) for a scripted provider code, or (None, response) for Status, after any Sleep."""
        answer = self._scripted()
        if isinstance(answer, Sleep):
            self.stopping.wait(answer.seconds)
            return None, None
        if isinstance(answer, Status):
            return None, (answer.code, answer.body.encode())
        return answer, None


# --- SMS (Aliyun SendSms) -----------------------------------------------------------------------------


def _rfc3986(value: str) -> str:
    # Written independently of the channel's encoder, so a mistake there shows up as a failed signature.
    unreserved = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
    return "".join(chr(b) if chr(b) in unreserved else f"%{b:02X}" for b in value.encode("utf-8"))


def aliyun_signature(params: dict, secret: str, method: str = "POST") -> str:
    canonical = "&".join(f"{_rfc3986(k)}={_rfc3986(params[k])}" for k in sorted(params))
    to_sign = f"{method}&{_rfc3986('/')}&{_rfc3986(canonical)}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


SMS_TEST_SECRET = "test-secret-测试"  # noqa: S105 (a fake's shared secret)
SMS_REQUIRED = ("Action", "Version", "Format", "AccessKeyId", "SignatureMethod", "SignatureVersion",
                "SignatureNonce", "Timestamp", "Signature", "RegionId", "PhoneNumbers", "SignName", "TemplateCode")
SMS_MESSAGES = {
    "OK": "OK",
    "isp.SYSTEM_ERROR": "系统错误",
    "isv.BUSINESS_LIMIT_CONTROL": "触发号码天级流控Permits:50",
    "isv.DAY_LIMIT_CONTROL": "触发日发送限额",
    "isv.AMOUNT_NOT_ENOUGH": "账户余额不足",
    "Throttling.User": "Request was denied due to user flow control.",
    "isv.MOBILE_NUMBER_ILLEGAL": "非法手机号",
    "isv.BLACK_KEY_CONTROL_LIMIT": "黑名单管控",
    "isv.TEMPLATE_MISSING_PARAMETERS": "模板变量缺少对应参数值",
    "isv.INVALID_PARAMETERS": "参数格式不正确",
    "isv.INVALID_JSON_PARAM": "JSON参数不合法，只接受字符串值",
    "isv.PARAM_LENGTH_LIMIT": "参数超出长度限制",
    "isv.SMS_TEMPLATE_ILLEGAL": "该账号下找不到对应模板",
    "isv.SMS_SIGNATURE_ILLEGAL": "该账号下找不到对应签名",
    "SignatureDoesNotMatch": "Specified signature is not matched with our calculation.",
    "InvalidAccessKeyId.NotFound": "Specified access key is not found.",
    "SignatureNonceUsed": "Specified signature nonce was used already.",
}
SMS_HTTP_STATUS = {"SignatureDoesNotMatch": 400, "InvalidAccessKeyId.NotFound": 404, "SignatureNonceUsed": 400,
                   "Throttling.User": 400, "InvalidTimeStamp.Format": 400, "InvalidTimeStamp.Expired": 400}


class FakeSms(HttpFake):
    """An SMS gateway speaking SendSms: verifies the signature with the shared secret, refuses a reused
    nonce, checks the number, signature name, template and its variables, then accepts."""

    def __init__(self, *, access_key_id="LTAI-test-key", secret=SMS_TEST_SECRET, sign_name="智慧党建",
                 template_code="SMS_000001", param_max_length=35):
        super().__init__()
        self.access_key_id = access_key_id
        self.secret = secret
        self.sign_name = sign_name
        self.template_code = template_code
        self.param_max_length = param_max_length
        self.nonces: set[str] = set()
        self.received: list[dict] = []  # the accepted requests' parameters, with "BizId"
        self._ids = itertools.count(1)

    def settings_block(self, timeout=5) -> dict:
        return {"url": self.url + "/", "access_key_id": self.access_key_id, "access_key_secret": self.secret,
                "sign_name": self.sign_name, "template_code": self.template_code, "timeout": timeout}

    def _answer(self, code, **extra):
        payload = {"Code": code, "Message": SMS_MESSAGES.get(code, code),
                   "RequestId": str(uuid.uuid4()).upper(), **extra}
        return SMS_HTTP_STATUS.get(code, 200), payload

    def route(self, method, path, query, body, headers):
        if method != "POST" or path != "/":
            return 404, {"Code": "InvalidAction.NotFound", "Message": "Specified api is not found"}
        params = dict(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        error = self.check(params)
        if error:
            return self._answer(error)
        code, response = self.scripted_answer()
        if response:
            return response
        if code:
            return self._answer(code)
        biz_id = f"{next(self._ids):06d}^0"
        with self.lock:
            self.received.append({**params, "BizId": biz_id})
        return self._answer("OK", BizId=biz_id)

    def check(self, params: dict) -> str | None:
        """The error code a real gateway would answer for these parameters, or None."""
        for name in SMS_REQUIRED:
            if not params.get(name):
                return f"Missing{name}"
        if params["Action"] != "SendSms" or params["Version"] != "2017-05-25":
            return "InvalidAction.NotFound"
        if params["AccessKeyId"] != self.access_key_id:
            return "InvalidAccessKeyId.NotFound"
        if params["SignatureMethod"] != "HMAC-SHA1" or params["SignatureVersion"] != "1.0":
            return "InvalidSignatureMethod"
        unsigned = {k: v for k, v in params.items() if k != "Signature"}
        if not hmac.compare_digest(aliyun_signature(unsigned, self.secret), params["Signature"]):
            return "SignatureDoesNotMatch"
        try:
            stamp = dt.datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        except ValueError:
            return "InvalidTimeStamp.Format"
        if abs((dt.datetime.now(dt.UTC) - stamp).total_seconds()) > 15 * 60:
            return "InvalidTimeStamp.Expired"
        with self.lock:
            if params["SignatureNonce"] in self.nonces:
                return "SignatureNonceUsed"
            self.nonces.add(params["SignatureNonce"])
        if not re.fullmatch(r"1\d{10}", params["PhoneNumbers"]):
            return "isv.MOBILE_NUMBER_ILLEGAL"
        if params["SignName"] != self.sign_name:
            return "isv.SMS_SIGNATURE_ILLEGAL"
        if params["TemplateCode"] != self.template_code:
            return "isv.SMS_TEMPLATE_ILLEGAL"
        try:
            variables = json.loads(params.get("TemplateParam") or "")
        except ValueError:
            return "isv.INVALID_JSON_PARAM"
        if not isinstance(variables, dict) or not all(isinstance(variables.get(k), str) for k in ("title", "content")):
            return "isv.TEMPLATE_MISSING_PARAMETERS"
        if any(len(v) > self.param_max_length for v in variables.values()):
            return "isv.PARAM_LENGTH_LIMIT"
        if len(params.get("OutId", "")) > 64:
            return "isv.INVALID_PARAMETERS"
        return None


# --- WeChat official account --------------------------------------------------------------------------


WECHAT_TEST_SECRET = "test-app-secret"  # noqa: S105 (a fake's app secret)


@dataclass
class WechatMessage:
    touser: str
    template_id: str
    url: str
    client_msg_id: str
    data: dict
    msgid: int
    token: str


class FakeWechat(HttpFake):
    """/cgi-bin/token, /cgi-bin/message/template/send and /sns/oauth2/access_token of the WeChat API."""

    def __init__(self, *, app_id="wx0123456789abcdef", app_secret=WECHAT_TEST_SECRET,
                 template_id="TEMPLATE-test-0001", expires_in=7200):
        super().__init__()
        self.app_id = app_id
        self.app_secret = app_secret
        self.template_id = template_id
        self.expires_in = expires_in
        self.unsubscribed: set[str] = set()  # openids answered 43004
        self.blacklisted: set[str] = set()  # openids answered 43019
        self.codes: dict[str, str] = {}  # OAuth code → openid (each code works once)
        self.token_reply: dict | None = None  # when set, /cgi-bin/token answers this instead of a token
        self.received: list[WechatMessage] = []  # messages delivered (a de-duplicated resend is not added)
        self.tokens: dict[str, str] = {}  # issued token → "valid" | "expired"
        self.token_requests = 0
        self.used_codes: set[str] = set()
        self._sent: dict[tuple[str, str], int] = {}  # (touser, client_msg_id) → msgid
        self._ids = itertools.count(200228332)

    def settings_block(self, timeout=5) -> dict:
        return {"api_base": self.url, "oauth_base": "https://open.weixin.qq.com", "app_id": self.app_id,
                "app_secret": self.app_secret, "template_id": self.template_id, "timeout": timeout}

    def expire_tokens(self):
        """Every token issued so far now answers 42001 (access_token expired)."""
        with self.lock:
            for token in self.tokens:
                self.tokens[token] = "expired"

    def route(self, method, path, query, body, headers):
        if path == "/cgi-bin/token" and method == "GET":
            return self._token(query)
        if path == "/cgi-bin/message/template/send" and method == "POST":
            return self._send(query, body)
        if path == "/sns/oauth2/access_token" and method == "GET":
            return self._oauth(query)
        return 404, {"errcode": 40066, "errmsg": "invalid url"}

    @staticmethod
    def _error(errcode, errmsg):
        return 200, {"errcode": errcode, "errmsg": f"{errmsg} rid: {uuid.uuid4().hex[:24]}"}

    def _credentials_error(self, query):
        if query.get("appid") != self.app_id:
            return self._error(40013, "invalid appid")
        if query.get("secret") != self.app_secret:
            return self._error(40125, "invalid appsecret")
        return None

    def _token(self, query):
        with self.lock:
            self.token_requests += 1
        if self.token_reply is not None:
            return 200, self.token_reply
        if query.get("grant_type") != "client_credential":
            return self._error(40002, "invalid grant_type")
        error = self._credentials_error(query)
        if error:
            return error
        token = f"ACCESS_TOKEN_{uuid.uuid4().hex}"
        with self.lock:
            self.tokens[token] = "valid"
        return 200, {"access_token": token, "expires_in": self.expires_in}

    def _send(self, query, body):
        token = query.get("access_token")
        if not token:
            return self._error(41001, "access_token missing")
        state = self.tokens.get(token)
        if state is None:
            return self._error(40001, "invalid credential, access_token is invalid or not latest")
        if state == "expired":
            return self._error(42001, "access_token expired")
        try:
            message = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return self._error(47001, "data format error")
        if not isinstance(message, dict):
            return self._error(47001, "data format error")
        touser = message.get("touser") or ""
        if not re.fullmatch(r"[A-Za-z0-9_-]{6,64}", touser):
            return self._error(40003, "invalid openid")
        if message.get("template_id") != self.template_id:
            return self._error(40037, "invalid template_id")
        data = message.get("data")
        if not isinstance(data, dict) or not data or not all(
                isinstance(v, dict) and isinstance(v.get("value"), str) and 0 < len(v["value"]) <= 20
                for v in data.values()):
            return self._error(47003, "argument invalid! data.thing.value invalid")
        code, response = self.scripted_answer()
        if response:
            return response
        if code:
            return self._error(code, "scripted error")
        if touser in self.unsubscribed:
            return self._error(43004, "require subscribe")
        if touser in self.blacklisted:
            return self._error(43019, "require remove blacklist")
        key = (touser, message.get("client_msg_id") or "")
        with self.lock:
            if key[1] and key in self._sent:  # the same client_msg_id again: one message, same msgid
                return 200, {"errcode": 0, "errmsg": "ok", "msgid": self._sent[key]}
            msgid = next(self._ids)
            if key[1]:
                self._sent[key] = msgid
            self.received.append(WechatMessage(touser, message["template_id"], message.get("url", ""),
                                               key[1], data, msgid, token))
        return 200, {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def _oauth(self, query):
        if query.get("grant_type") != "authorization_code":
            return self._error(40002, "invalid grant_type")
        error = self._credentials_error(query)
        if error:
            return error
        code = query.get("code") or ""
        if not code:
            return self._error(41008, "missing code")
        with self.lock:
            if code in self.used_codes:
                return self._error(40163, "code been used")
            openid = self.codes.get(code)
            if openid is None:
                return self._error(40029, "invalid code")
            self.used_codes.add(code)
        return 200, {"access_token": f"OAUTH_{uuid.uuid4().hex}", "expires_in": 7200,
                     "refresh_token": f"REFRESH_{uuid.uuid4().hex}", "openid": openid, "scope": "snsapi_base"}


# --- SMTP ---------------------------------------------------------------------------------------------


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def from_(self) -> str:
        return str(self.message["From"])

    @property
    def to(self) -> str:
        return str(self.message["To"])

    @property
    def body(self) -> str:
        return self.message.get_body(("plain",)).get_content()


class _SmtpHandler:
    def __init__(self, fake: FakeSmtp):
        self.fake = fake

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        refusal = self.fake.refusals.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.fake.data_refusal:
            return self.fake.data_refusal
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.fake.lock:
            self.fake.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class _LoopbackController(Controller):
    """aiosmtpd's threaded controller on a port the OS chose (it wants a fixed port otherwise)."""

    def __init__(self, handler, **kwargs):
        self._sock = socket.socket()
        self._sock.bind((LOOPBACK, 0))
        super().__init__(handler, hostname=LOOPBACK, port=self._sock.getsockname()[1], **kwargs)

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


class FakeSmtp:
    """An SMTP server collecting messages in `.received`; `refuse(address, code)` makes RCPT TO fail."""

    REPLIES = {550: "550 5.1.1 <{}>: Recipient address rejected: User unknown",
               451: "451 4.3.0 <{}>: Temporary local problem, try again later",
               452: "452 4.2.2 <{}>: Mailbox full",
               554: "554 5.7.1 <{}>: Relay access denied"}

    def __init__(self):
        self.lock = threading.Lock()
        self.received: list[ReceivedMail] = []
        self.refusals: dict[str, str] = {}
        self.data_refusal = ""  # e.g. "554 5.7.1 Message rejected": the answer to every message's DATA
        self.controller = _LoopbackController(_SmtpHandler(self))

    @property
    def port(self) -> int:
        return self.controller.port

    def refuse(self, address: str, code: int = 550):
        self.refusals[address.lower()] = self.REPLIES.get(code, f"{code} Refused <{{}}>").format(address)

    def start(self):
        try:
            self.controller.start()
        except BaseException:
            self.controller._sock.close()
            raise
        self.running = True
        return self

    def stop(self):
        """Stop the server; later connections are refused. Safe to call twice."""
        if getattr(self, "running", False):
            self.running = False
            self.controller.stop()
