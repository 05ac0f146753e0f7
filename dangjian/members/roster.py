"""The roster in and out of Excel: the import template, the all-or-nothing import, its error report, the export.

Import, in steps that each touch the database a fixed number of times per chunk of rows, whatever the row count:

1. `read_roster()` opens the upload with python-calamine (.xlsx, the old .xls, .ods; the format is detected
   from the content, never the file name), finds the header row and maps the Chinese headers to fields.
2. Each row is checked (`_RowChecker`): each cell turned into what `MemberForm` expects (codes by name or code,
   the date spellings offices use, numbers Excel made of ID and phone columns), the row validated with
   `MemberForm` (the one validator of member data), the organisation column resolved against the
   organisations the file names, loaded in **one** query per 10,000 names, and ID numbers given twice in the
   file found.
3. The save, a chunk of rows at a time through core.bulk's `BulkWriter`: the members (their ids reserved first),
   their first membership periods and the chunk's counter changes (`tally_write`), then one audit entry that
   holds counts only (no personal data), in one transaction; on SQLite with a bigger page cache while it writes.
4. `roster_import()` does 2 and 3 in one pass (`_import_in_one_pass`): each chunk is handed to the writer as
   soon as its rows have passed, so the database writes it while the next rows are checked. The first bad row,
   or an ID number the unique index finds already registered, rolls the pass back; then `validate_roster()`
   checks every row and looks up the registered numbers (one query per 5,000), and `write_error_report()` gives
   the worker an .xlsx of 行号 / 列 / 值 / 原因 with ID numbers and phones masked. (`save_roster()` saves rows
   validated that way.)

Row numbers are the ones the worker sees in Excel: the header is row 1, the first data row is row 2
(a title row above the header shifts both, as it does in Excel).
"""

from __future__ import annotations

import copy
import datetime as dt
import gc
import io
import re
import secrets
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import NamedTuple

import python_calamine
import xlsxwriter
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from django.db import IntegrityError, connections, router, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from dangjian.audit.services import log_action
from dangjian.core import codes, crypto
from dangjian.core.bulk import ModelTemplate, bulk_writer, reserve_ids
from dangjian.core.errors import PermissionDenied, ValidationFailed
from dangjian.core.masking import mask_id_number, mask_phone
from dangjian.core.scoping import PATH_ALPHABET, subtree_q
from dangjian.orgs.models import SEGMENT, Organization, name_key

from .forms import MemberForm
from .models import Member, MembershipPeriod, MemberStatus, Standing
from .selectors import ID_LIKE, PHONE_LIKE, MemberFilters, member_list
from .services import DUPLICATE_ID, member_assign
from .tallies import member_dimensions, tally_totals, tally_write

# --- Columns -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    header: str  # the Chinese header of the template
    field: str  # MemberForm field, or "organization" / "since"
    kind: str  # text | id | phone | date | code | org | flag
    required: bool  # the column must be present in the header row
    help: str  # one line for the 填写说明 sheet and the header comment
    example: str
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column("姓名", "name", "text", True, "必填，最多50字", "张红", ("党员姓名",)),
    Column("身份证号", "id_number", "id", True,
           "必填，18位公民身份号码（最后一位可为X）；15位旧号码会自动转换。请保持本列为“文本”格式",
           "110105198001010017", ("身份证号码", "公民身份号码", "身份证")),
    Column("性别", "gender", "code", False, "男 / 女；可空，空时按身份证号", "女"),
    Column("民族", "ethnicity", "code", True, "必填，民族名称或两位代码（见“代码表”），如 汉族 或 01", "汉族"),
    Column("出生日期", "birth_date", "date", False, "可空，空时按身份证号；填写时须与身份证号一致", "1980-01-01"),
    Column("手机号码", "phone", "phone", False, "可空，11位手机号码；请保持本列为“文本”格式", "13800138000",
           ("手机号", "联系电话", "手机")),
    Column("学历", "education", "code", True, "必填，学历名称或代码（见“代码表”），如 大学本科毕业 或 21", "大学本科毕业",
           ("文化程度",)),
    Column("职业类别", "occupation", "code", True, "必填，见“代码表”，如 党政机关工作人员（可只填括号前的部分）",
           "党政机关工作人员", ("职业",)),
    Column("工作单位", "work_unit", "text", False, "可空，最多100字", "示范区民政局"),
    Column("职务", "post", "text", False, "可空，最多50字", "科员"),
    Column("家庭住址", "address", "text", False, "可空，最多200字", "示范区甲街道1号"),
    Column("所在党组织", "organization", "org", True,
           "必填，党组织全称（见“组织列表”）；同名组织请填“组织列表”中的编号", "甲社区党支部", ("党组织", "所在支部")),
    Column("党员类别", "status", "code", True, "必填，正式党员 / 预备党员", "正式党员", ("人员类别",)),
    Column("入党日期", "joined_on", "date", True, "必填，如 2001-07-01、2001/7/1 或 2001年7月1日", "2005-07-01"),
    Column("转正日期", "confirmed_on", "date", False, "正式党员必填，预备党员不填", "2006-07-01"),
    Column("转入本组织日期", "since", "date", False, "可空，空时按入党日期；不能早于入党日期", "2015-03-01",
           ("转入日期",)),
    Column("流动党员", "is_mobile", "flag", False, "是 / 否；可空，空为否", "否"),
    Column("失联党员", "is_lost_contact", "flag", False, "是 / 否；可空，空为否", "否"),
)
HEADERS = [c.header for c in COLUMNS]
DATA_SHEET = "党员名册"
HELP_SHEET = "填写说明"
CODES_SHEET = "代码表"
ORGS_SHEET = "组织列表"
HEADER_SCAN_ROWS = 20  # the header may sit below a title row or two
MAX_COLUMNS = 200
DIGEST_CHUNK = 5000  # parameters per duplicate lookup: under SQLite's 32,766 and PostgreSQL's 65,535
ORG_CHUNK = 10_000  # texts (or ids) per organisation query: a list of names and one of paths stays under SQLite's 32,766
IMPORT_CHUNK = 2000  # rows the writer writes while the next ones are checked (measured best of 500–5,000)
REPORT_DIR = "import-errors"
REPORT_MAX_AGE = 24 * 3600  # seconds an error report is kept
SHOWN_ERRORS = 200


def _normalize_header(value) -> str:
    text = unicodedata.normalize("NFKC", str(value))
    return re.sub(r"\s|\*|\(.*?\)", "", text)


_HEADER_LOOKUP: dict[str, Column] = {}
for _c in COLUMNS:
    for _name in (_c.header, *_c.aliases):
        _HEADER_LOOKUP[_normalize_header(_name)] = _c


# --- Errors ------------------------------------------------------------------------------------------


class RosterFileError(ValidationFailed):
    """The file as a whole cannot be imported (not a spreadsheet, no header, too big): nothing was read."""

    code = "roster_file"


@dataclass(frozen=True)
class RowError:
    row: int  # as numbered in Excel
    column: str  # the Chinese header, "" for the row as a whole
    value: str  # masked for ID numbers and phones
    reason: str  # Chinese


# --- Reading -----------------------------------------------------------------------------------------


@dataclass
class RosterSheet:
    rows: list[tuple[int, list]]  # (Excel row number, cells) of the non-blank data rows
    columns: list[tuple[int, Column]]  # (cell index, column) found in the header
    file_format: str


def _file_format(content: bytes) -> str:
    """For the audit entry only: calamine itself detects the format from the content."""
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if content.startswith(b"PK"):
        return "ods" if b"application/vnd.oasis.opendocument.spreadsheet" in content[:200] else "xlsx"
    return "unknown"


def read_roster(upload, *, max_bytes: int | None = None, max_rows: int | None = None) -> RosterSheet:
    """Open an uploaded file (a Django UploadedFile, a path or any binary file object) as a roster."""
    max_bytes = settings.DANGJIAN_IMPORT_MAX_BYTES if max_bytes is None else max_bytes
    max_rows = settings.DANGJIAN_IMPORT_MAX_ROWS if max_rows is None else max_rows
    if isinstance(upload, bytes):
        content = upload
    elif isinstance(upload, str | Path):
        with open(upload, "rb") as f:
            content = f.read(max_bytes + 1)
    else:
        size = getattr(upload, "size", None)
        if size is not None and size > max_bytes:
            raise _too_big(max_bytes)
        if hasattr(upload, "seek"):
            upload.seek(0)
        content = upload.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise _too_big(max_bytes)
    if not content:
        raise RosterFileError("上传的文件是空的，请选择填好的名册文件。")
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
        sheet = _pick_sheet(workbook)
    except RosterFileError:
        raise
    except python_calamine.PasswordError:
        raise RosterFileError("文件设置了打开密码，请在 Excel/WPS 中取消密码后再上传。") from None
    except Exception:  # calamine's errors for anything that is not a workbook
        raise RosterFileError(
            "无法读取该文件：请上传 Excel 表格（.xlsx 或 .xls）或 WPS/OpenOffice 表格（.ods），建议下载模板填写。"
        ) from None
    if sheet.total_width > MAX_COLUMNS:
        raise RosterFileError(f"表格有 {sheet.total_width} 列，超过 {MAX_COLUMNS} 列：请删除模板以外的多余列后再上传。")
    # Rows past this cannot all fit the limit; reading them would only cost memory.
    cap = max_rows + HEADER_SCAN_ROWS + 1
    if sheet.total_height > cap + 1000:
        raise RosterFileError(f"表格行数超过 {max_rows} 行的上限，请分成几个文件导入。")
    try:
        cells = sheet.to_python(skip_empty_area=False, nrows=cap + 1000)
    except Exception:
        raise RosterFileError("文件已损坏或格式不完整，无法读取，请在 Excel/WPS 中重新保存后上传。") from None
    header_index, columns = _find_header(cells)
    indexes = [i for i, _ in columns]
    rows = []
    for i in range(header_index + 1, len(cells)):
        row = cells[i]
        if any(_filled(row[j]) for j in indexes if j < len(row)):
            rows.append((i + 1, row))
    if not rows:
        raise RosterFileError("表格中没有党员数据：请在表头下面逐行填写后再上传（空行会被跳过）。")
    if len(rows) > max_rows:
        raise RosterFileError(f"表格有 {len(rows)} 行数据，超过一次最多导入 {max_rows} 行的上限，请分成几个文件导入。")
    return RosterSheet(rows=rows, columns=columns, file_format=_file_format(content))


def _too_big(max_bytes: int) -> RosterFileError:
    return RosterFileError(f"文件超过 {size_label(max_bytes)} 的上限，请分成几个文件导入。")


def size_label(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


def _pick_sheet(workbook):
    """The 党员名册 sheet if there is one, else the first sheet that is not the 填写说明/代码表/组织列表."""
    names = workbook.sheet_names
    if not names:
        raise RosterFileError("文件中没有工作表。")
    for name in names:
        if name.strip() == DATA_SHEET:
            return workbook.get_sheet_by_name(name)
    for name in names:
        if name.strip() not in (HELP_SHEET, CODES_SHEET, ORGS_SHEET):
            return workbook.get_sheet_by_name(name)
    return workbook.get_sheet_by_index(0)


def _filled(value) -> bool:
    return value is not None and value != "" and not (isinstance(value, str) and not value.strip())


def _find_header(cells: list[list]) -> tuple[int, list[tuple[int, Column]]]:
    best_index, best = -1, []
    for i, row in enumerate(cells[:HEADER_SCAN_ROWS]):
        found = [(j, _HEADER_LOOKUP.get(_normalize_header(v))) for j, v in enumerate(row) if _filled(v)]
        found = [(j, c) for j, c in found if c is not None]
        if len(found) > len(best):
            best_index, best = i, found
    if not best:
        raise RosterFileError(
            "未找到表头：第一行应为列名（" + "、".join(HEADERS[:4]) + "……）。请下载模板，按模板的列填写。"
        )
    seen: dict[str, int] = {}
    for j, c in best:
        if c.header in seen:
            raise RosterFileError(f"表头中“{c.header}”列出现了两次（第{_col_letter(seen[c.header])}列和第{_col_letter(j)}列），请删除一列。")
        seen[c.header] = j
    missing = [c.header for c in COLUMNS if c.required and c.header not in seen]
    if missing:
        raise RosterFileError(
            f"表头（第{best_index + 1}行）缺少必填列：{'、'.join(missing)}。请使用模板的表头，列名须与模板一致。"
        )
    return best_index, best


def _col_letter(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, r = divmod(index - 1, 26)
        out = chr(65 + r) + out
    return out


# --- Cell conversion ---------------------------------------------------------------------------------


class _CellError(Exception):
    pass


class CodeTable:
    """Code or Chinese name → code, through `codes.lookup_code`, memoised per distinct spelling."""

    def __init__(self, choices, aliases: dict[str, str] | None = None, what: str = ""):
        self.choices = list(choices)
        self.cache: dict[str, str | None] = dict(aliases or {})
        self.what = what

    def resolve(self, value: str) -> str:
        try:
            code = self.cache[value]
        except KeyError:
            code = self.cache[value] = codes.lookup_code(self.choices, value)
        if code is None:
            raise _CellError(f"“{value}”不是有效的{self.what}，{self.hint()}")
        return code

    def hint(self) -> str:
        if len(self.choices) <= 4:
            return "应为" + "、".join(name for _, name in self.choices)
        return "请填写“代码表”中的名称或代码"


def _occupation_aliases() -> dict[str, str]:
    out = {}
    for code, label in codes.Occupation.choices:
        out[label.split("（")[0]] = code
    return out


_ETHNICITY_ALIASES = {name[:-1]: code for code, name in codes.ETHNICITY_CHOICES if name.endswith("族")}
# Everyday spellings of the level names; each maps to its level code (as precise as what was written).
_EDUCATION_ALIASES = {"研究生": "10", "本科": "20", "大本": "20", "专科": "30", "大专": "30", "中专": "40",
                      "高中": "60", "初中": "70", "小学": "80"}
_GENDER_ALIASES = {"男性": "male", "女性": "female", "": ""}
_STATUS_ALIASES = {"正式": MemberStatus.FULL, "预备": MemberStatus.PROBATIONARY}
_FLAGS = {"是": True, "否": False, "": False, "y": True, "n": False, "yes": True, "no": False, "true": True,
          "false": False, "1": True, "0": False, "√": True, "×": False}


def _code_tables() -> dict[str, CodeTable]:
    return {
        "gender": CodeTable(codes.Gender.choices, _GENDER_ALIASES, "性别"),
        "ethnicity": CodeTable(codes.ETHNICITY_CHOICES, _ETHNICITY_ALIASES, "民族名称或代码"),
        "education": CodeTable(codes.EDUCATION_CHOICES, _EDUCATION_ALIASES, "学历名称或代码"),
        "occupation": CodeTable(codes.Occupation.choices, _occupation_aliases(), "职业类别"),
        "status": CodeTable(MemberStatus.choices, _STATUS_ALIASES, "党员类别"),
    }


_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_COMPACT_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SCIENTIFIC_RE = re.compile(r"^\d(?:\.\d+)?[eE]\+?\d+$")
DATE_HINT = "请填写如 2001-07-01、2001/7/1、2001.7.1 或 2001年7月1日"


def _text(value) -> str:
    """A cell as text; whole numbers lose the ".0" calamine gives every number."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value).strip()


def _date(value) -> dt.date | None:
    if value.__class__ is str and len(value) == 10 and value[4] == value[7] == "-" and value.isascii():
        # The common text form, YYYY-MM-DD, parsed in C (0.2 µs against 4–6 for the general path below, four
        # dates a row); anything it refuses, or a year before 1900, takes the general path and its message.
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            pass
        else:
            if day.year >= 1900:
                return day
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and 19000101 <= value <= 29991231:  # 20010701 typed as a number
            value = str(int(value))
        else:
            raise _CellError(f"“{_text(value)}”是数字而不是日期（单元格可能被设成了“常规”或“数值”格式），{DATE_HINT}")
    if isinstance(value, dt.time | dt.timedelta):
        raise _CellError(f"“{value}”是时间而不是日期，{DATE_HINT}")
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        return None
    m = _DATE_RE.match(text) or _COMPACT_DATE_RE.match(text)
    if not m:
        raise _CellError(f"无法识别日期“{text}”，{DATE_HINT}")
    try:
        day = dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise _CellError(f"日期“{text}”不存在") from None
    if day.year < 1900:
        raise _CellError(f"日期“{text}”不合理")
    return day


_FLOAT_ID_REASON = (
    "身份证号被 Excel 当成了数字（显示为 {shown}），后几位已经丢失，无法还原。"
    "请把“身份证号”列设置为“文本”格式后重新填写（或在号码前加英文单引号 '）"
)


def _id_number(value) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and 0 < value < 1e15:  # 15 digits or fewer are exact in a double
            return str(int(value))
        raise _CellError(_FLOAT_ID_REASON.format(shown=f"{float(value):.5E}".replace("E+", "E+")))
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(" ", "")
    if _SCIENTIFIC_RE.match(text):
        raise _CellError(_FLOAT_ID_REASON.format(shown=text))
    return text


def _phone(value) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _text(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def _flag(value) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    try:
        return _FLAGS[text]
    except KeyError:
        raise _CellError(f"“{text}”应填“是”或“否”") from None


_CONVERTERS: dict[str, Callable] = {"text": _text, "date": _date, "id": _id_number, "phone": _phone, "flag": _flag}


def _mask_value(column: Column | None, value) -> str:
    """What the report and the page may show of a cell: ID numbers and phones masked (core.masking)."""
    if value is None:
        return ""
    if column is None or column.kind not in ("id", "phone"):
        return _text(value)[:200]
    if isinstance(value, float) and value >= 1e15:
        text = f"{value:.0f}"
    else:
        text = _text(value)
    if column.kind == "id":
        return mask_id_number(text) if len(text) >= 10 else "*" * len(text)
    return mask_phone(text) if len(text) >= 7 else "*" * len(text)


# --- Validation --------------------------------------------------------------------------------------


class _RowForm(MemberForm):
    """`MemberForm` for one import row, without its organisation field (a ModelChoiceField queries the
    database per row: the import resolves the 所在党组织 column against a dict loaded once instead).

    A form deep-copies its fields on every instantiation, which costs more than validating the row;
    the import's forms share one set instead. Safe because nothing here mutates a field per instance
    (MemberForm only sets the organisation queryset, and that field is gone).
    """

    organization = None

    def __init__(self, *args, **kwargs):
        if kwargs.get("editing"):  # editing changes fields per instance, which the shared fields cannot take
            raise ValueError("the import form never edits")
        super().__init__(*args, **kwargs)

    def for_row(self, data: dict) -> _RowForm:
        """A form for the next row: a shallow copy of this unvalidated one with the row's data. Form.__init__
        per row (renderer, field order, attributes) cost a tenth of the validation; nothing it sets depends
        on the data, and the shared fields are never mutated (see above). The copy starts without the
        per-row state full_clean() creates (errors, cleaned_data, id_info)."""
        if self._errors is not None:
            raise ValueError("copy an unvalidated form")
        form = object.__new__(type(self))  # copy.copy's own path (__reduce_ex__) took 3 µs of a 45 µs row
        form.__dict__ = {**self.__dict__, "data": data, "_bound_fields_cache": {}}
        return form

    def _clean_fields(self):
        """Django's loop minus the BoundField/widget plumbing, which is there to read HTML form posts.
        Import rows already hold Python values (str, date, bool), so each field's `clean()` and the
        form's `clean_<field>()` run exactly as they do for a page; only the lookup of the value differs.
        This halves the cost of a row (measured: 1.6 s → 0.7 s for 10,000 rows).

        A value the cell conversion already gave in the exact form `clean()` returns (see `_shortcut`) is
        taken as is; any other value goes through `clean()`, so every error and its message is the field's own."""
        data, cleaned = self.data, self.cleaned_data
        for name, form_field, shortcut, clean_field in self._plan:
            try:
                raw = data.get(name)
                value = shortcut(raw)
                cleaned[name] = form_field.clean(raw) if value is _SLOW else value
                if clean_field is not None:
                    cleaned[name] = clean_field(self)
            except ValidationError as e:
                self.add_error(name, e)


class _SharedFields(dict):
    def __deepcopy__(self, memo):
        return self


def _set_lookup(form_field):
    """A copy of a ChoiceField that tests a value by set membership instead of walking its choices (民族 has
    58, 学历 40) for every row. Same verdict and message: these choices are flat lists of string codes."""
    if not isinstance(form_field, forms.ChoiceField):
        return form_field
    form_field = copy.deepcopy(form_field)
    form_field.valid_value = frozenset(str(code) for code, _ in form_field.choices).__contains__
    return form_field


_RowForm.base_fields = _SharedFields({name: _set_lookup(f) for name, f in _RowForm.base_fields.items()})

_SLOW = object()  # a shortcut's "not sure: let the field's clean() decide"


def _shortcut(form_field):
    """What the field's `clean()` returns for a value in the exact form the cell conversion produces, or _SLOW.

    Only for the plain field classes below and their stock validators; it answers only where `clean()` can
    neither fail nor change the value (a code already in the choices, a date, a bool, text that is stripped,
    within max_length, without NUL). Everything else — an empty required value, an unknown code, text that
    is too long — goes through `clean()`, so errors and messages are the field's own (tests compare them).
    Running the whole `clean()` (to_python, validate, run_validators) for each of 17 fields was most of the
    cost of a row."""
    cls, required, validators = type(form_field), form_field.required, form_field.validators
    if cls is forms.ChoiceField and not validators:
        valid = frozenset(str(code) for code, _ in form_field.choices if code != "")

        def choice(value):
            if value.__class__ is str and (value in valid or (value == "" and not required)):
                return value
            return _SLOW
        return choice
    if cls is forms.DateField and not validators:
        def date(value):
            if value.__class__ is dt.date or (value is None and not required):
                return value
            return _SLOW
        return date
    if cls is forms.BooleanField and not validators and not required:
        return lambda value: value if value.__class__ is bool else _SLOW
    stock = {type(v) for v in validators} <= {MaxLengthValidator, ProhibitNullCharactersValidator}
    if cls is forms.CharField and form_field.strip and form_field.min_length is None and stock:
        max_length, empty = form_field.max_length, form_field.empty_value

        def text(value):
            if value.__class__ is not str:
                return _SLOW
            value = value.strip()
            if not value:
                return _SLOW if required else empty
            if (max_length is None or len(value) <= max_length) and "\x00" not in value:
                return value
            return _SLOW
        return text
    return lambda value: _SLOW


_RowForm._plan = [(name, f, _shortcut(f), getattr(_RowForm, f"clean_{name}", None))
                  for name, f in _RowForm.base_fields.items()]


@dataclass
class ValidRow:
    row: int
    data: dict  # MemberForm.cleaned_data plus "organization"
    since: dt.date | None
    id_number_digest: str = ""  # crypto.lookup_digest of data["id_number"], computed by the check: the save reuses it


@dataclass
class RosterValidation:
    rows: list[ValidRow]
    errors: list[RowError]
    total: int

    @property
    def ok(self) -> bool:
        return not self.errors


class OrgRow(NamedTuple):
    """What the import needs of an organisation: one row of the lookup's query."""

    pk: int
    name: str
    path: str
    is_dissolved: bool
    parent_id: int | None
    sector: str
    name_key: str


class OrgLookup:
    """The organisations the actor may import into, by name, ID (编号) or path.

    `names`: the texts a file gives as 所在党组织 (normalised as `_org_text` does); only the organisations they
    can mean are loaded, one query per ORG_CHUNK texts (a stored `name_key` is compared, so a name typed with
    half-width brackets still finds its organisation). Without it, every one in the actor's scope is loaded
    (the template's 组织列表). A district's administrator has ~37,000 in scope: loading and normalising all of
    them took 0.13–0.36 s of every import (bench/, issue 8), a street's roster names ~500.

    Loaded as plain rows; an `Organization` is built only for the ones the file names, once each.
    """

    def __init__(self, actor, names: Iterable[str] | None = None, *, lock: bool = False):
        paths = actor.capability_paths("member.import")
        in_scope = Organization.objects.filter(subtree_q("path", paths)).order_by("path")
        if lock:  # the one-pass import: the organisations stay as loaded until its transaction ends
            in_scope = in_scope.select_for_update()
        if not paths:
            orgs = []
        elif names is None:
            orgs = [OrgRow(*values) for values in in_scope.values_list(*OrgRow._fields)]
        else:
            orgs = _orgs_named(in_scope, sorted(set(names)))
        self.by_name: dict[str, list[OrgRow]] = {}
        self.by_key: dict[str, OrgRow] = {}
        for org in orgs:
            self.by_name.setdefault(org.name_key, []).append(org)
            self.by_key[str(org.pk)] = org
            self.by_key[org.path] = org
        self.import_paths = tuple(paths)
        self.manage_paths = tuple(actor.capability_paths("member.manage"))
        self.instances: dict[int, Organization] = {}
        self.template = ModelTemplate(Organization)
        self.orgs = orgs
        self.db = Organization.objects.db

    def resolve(self, value) -> Organization:
        text = _org_text(value)
        if not text:
            raise _CellError("不能为空")
        found = self._named(text)
        if len(found) > 1:
            raise _CellError(f"您管理的范围内有 {len(found)} 个名为“{text}”的党组织，请改填“组织列表”中的编号")
        org = found[0] if found else None
        # One message for "does not exist" and "not yours": outside the scope, never confirm it exists.
        if org is None or not self._may_import(org):
            raise _CellError(f"在您可管理的范围内找不到党组织“{text}”，请按“组织列表”填写全称")
        if org.is_dissolved:
            raise _CellError(f"党组织“{text}”已撤销，不能再导入党员")
        return self._instance(org)

    def path_of(self, text: str) -> str:
        """The path of the one organisation a normalised 所在党组织 text names, else "" (`resolve` says why)."""
        found = self._named(text)
        return found[0].path if len(found) == 1 else ""

    def _named(self, text: str) -> list[OrgRow]:
        """What a normalised text can mean: every organisation of that name, else the one with that 编号 or path."""
        if found := self.by_name.get(text):
            return found
        org = self.by_key.get(text)
        return [org] if org is not None else []

    def _instance(self, org: OrgRow) -> Organization:
        instance = self.instances.get(org.pk)
        if instance is None:
            # As `.only()` builds it: a field not loaded here is fetched when read, never a wrong default.
            instance = self.instances[org.pk] = self.template.loaded(self.db, dict(zip(_ORG_ATTNAMES, org, strict=True)))
        return instance

    def _may_import(self, org: OrgRow) -> bool:
        """`actor.has_capability` of both, for a path: in a subtree of each. (The subtrees taken once: a city-wide
        file names 10,000 organisations.)"""
        return org.path.startswith(self.import_paths) and org.path.startswith(self.manage_paths)


_ORG_ATTNAMES = ("id", *OrgRow._fields[1:])


def _org_text(value) -> str:
    """A 所在党组织 cell as it is compared with `Organization.name_key`, 编号 and path."""
    return name_key(_text(value))


def _orgs_named(in_scope, texts: list[str]) -> list[OrgRow]:
    """The organisations in scope whose name, 编号 or path is one of `texts`, every one of a shared name. One
    query per ORG_CHUNK texts: with the scope's path range each query reads the scope's rows once (SQLite
    takes the range, not the lists), so fewer, longer lists are cheaper; only texts that can be an 编号 or a
    path are looked up as one."""
    found: dict[int, OrgRow] = {}
    for i in range(0, len(texts), ORG_CHUNK):
        chunk = texts[i : i + ORG_CHUNK]
        ids = [int(t) for t in chunk if t.isascii() and t.isdigit() and len(t) <= 18]
        paths = [t for t in chunk if len(t) % SEGMENT == 0 and _PATH_TEXT.fullmatch(t)]
        named = Q(name_key__in=chunk) | Q(path__in=paths) | Q(pk__in=ids)
        found.update((v[0], OrgRow(*v)) for v in in_scope.filter(named).values_list(*OrgRow._fields))
    return sorted(found.values(), key=lambda o: o.path)


_PATH_TEXT = re.compile(f"[{PATH_ALPHABET}]+")


def validate_roster(*, actor, sheet: RosterSheet, today: dt.date | None = None) -> RosterValidation:
    """Validate every row; a row with any error is reported, never half-imported."""
    checker = _RowChecker(actor, sheet, today)
    errors: list[RowError] = []
    valid: list[ValidRow] = []
    for row_no, cells in sheet.rows:
        checked = checker.check(row_no, cells)
        if isinstance(checked, ValidRow):
            valid.append(checked)
        else:
            errors.extend(checked)
    errors.extend(checker.earlier)
    taken = _digests_taken(list(checker.seen_ids))
    if taken:
        col = checker.by_field["id_number"]
        reason = DUPLICATE_ID.split("：", 1)[-1]
        for digest in taken:
            row_no, number = checker.seen_ids[digest]
            errors.append(RowError(row_no, col.header, _mask_value(col, number), reason))
    order = {c.header: i for i, c in enumerate(COLUMNS)}
    errors.sort(key=lambda e: (e.row, order.get(e.column, -1)))
    return RosterValidation(rows=valid, errors=errors, total=len(sheet.rows))


class _RowChecker:
    """The checks of one row, in file order: each cell converted, then `MemberForm`'s rules, the 转入本组织日期 and
    an ID number given twice in the file. `check` returns the row's ValidRow or its errors; an ID number's
    second occurrence also reports the first row, in `earlier`. (An ID number already registered is looked up
    for all rows at once: `_digests_taken`.)"""

    def __init__(self, actor, sheet: RosterSheet, today: dt.date | None, *, lock: bool = False):
        self.today = today or timezone.localdate()
        self.tables = _code_tables()
        self.blank_form = _RowForm(data={}, today=self.today)
        self.orgs = OrgLookup(actor, _org_texts(sheet), lock=lock)
        present = {c.field for _, c in sheet.columns}
        defaults = {c.field: ("" if c.kind != "flag" else False) for c in COLUMNS if c.field not in present}
        defaults["standing"] = Standing.NORMAL
        defaults.pop("organization", None)
        defaults.pop("since", None)
        self.defaults = defaults
        self.columns = sheet.columns
        self.by_field = {c.field: c for c in COLUMNS}
        self.converters = [(j, col, self._converter(col)) for j, col in sheet.columns]
        self.seen_ids: dict[str, tuple[int, str]] = {}  # digest → (first row, masked number)
        self.earlier: list[RowError] = []

    def _converter(self, col: Column) -> Callable:
        """The function that turns one cell of the column into its value, chosen once per file rather than
        per cell (17 kind tests a row)."""
        if col.kind == "code":
            resolve = self.tables[col.field].resolve
            return lambda raw: resolve(_text(raw)) if _filled(raw) else ""
        if col.kind == "org":
            return self.orgs.resolve
        return _CONVERTERS[col.kind]

    def check(self, row_no: int, cells: list) -> ValidRow | list[RowError]:
        columns, by_field, today = self.columns, self.by_field, self.today
        n = len(cells)
        data = dict(self.defaults)
        row_errors: list[tuple[Column, object, str]] = []
        for j, col, convert in self.converters:
            raw = cells[j] if j < n else ""
            try:
                data[col.field] = convert(raw)
            except _CellError as e:
                row_errors.append((col, raw, str(e)))
                data[col.field] = None
        # Not form fields: the form never sees them (its fields are all it reads of `data`).
        org, since = data.pop("organization", None), data.pop("since", None)
        form = self.blank_form.for_row(data)
        failed = {col.field for col, _, _ in row_errors}
        if not form.is_valid():
            for name, messages in form.errors.items():
                if name in failed:
                    continue  # the cell's own error already says why
                col = by_field.get(name)
                for message in messages:
                    row_errors.append((col, cells[_index(columns, col)] if col and _index(columns, col) < n else "", message))
        cleaned = getattr(form, "cleaned_data", {})
        joined = cleaned.get("joined_on")
        if since is not None:
            if joined and since < joined:
                row_errors.append((by_field["since"], since, "不能早于入党日期"))
            elif since > today:
                row_errors.append((by_field["since"], since, "不能晚于今天"))
        number, digest = cleaned.get("id_number"), ""
        if number and "id_number" not in failed:
            digest = crypto.lookup_digest(number)
            first = self.seen_ids.get(digest)
            if first is None:
                self.seen_ids[digest] = (row_no, number)
            else:
                col = by_field["id_number"]
                row_errors.append((col, number, f"与第{first[0]}行的身份证号重复"))
                self.earlier.append(RowError(first[0], col.header, _mask_value(col, number),
                                             f"与第{row_no}行的身份证号重复"))
        if row_errors:
            return [RowError(row_no, col.header if col else "", _mask_value(col, raw), reason)
                    for col, raw, reason in row_errors]
        data = dict(cleaned)
        data["organization"] = org
        return ValidRow(row_no, data, since, digest)


def _org_column(sheet: RosterSheet) -> int | None:
    """The cell index of the 所在党组织 column, if the file has one (its absence is reported per row)."""
    return next((j for j, c in sheet.columns if c.kind == "org"), None)


def _org_texts(sheet: RosterSheet) -> set[str]:
    """The distinct 所在党组织 texts of the file: what `OrgLookup` loads."""
    j = _org_column(sheet)
    if j is None:
        return set()
    return {_org_text(cells[j]) for _, cells in sheet.rows if j < len(cells)}


def _index(columns, col) -> int:
    for j, c in columns:
        if c is col:
            return j
    return 1 << 30


def _digests_taken(digests: list[str]) -> set[str]:
    """The ID numbers already registered. Unscoped on purpose: an ID number is unique in the whole platform,
    so a member in a subtree the importer cannot see still blocks the row (the message does not say where)."""
    taken: set[str] = set()
    for i in range(0, len(digests), DIGEST_CHUNK):
        chunk = digests[i : i + DIGEST_CHUNK]
        taken.update(Member.unscoped.filter(id_number_digest__in=chunk).values_list("id_number_digest", flat=True))
    return taken


# --- Saving ------------------------------------------------------------------------------------------


@transaction.atomic
def save_roster(*, actor, rows: list[ValidRow], file_format: str = "") -> int:
    """Save all rows or none, with one audit entry of counts. Rows must come from `validate_roster`."""
    _current_organizations(rows)
    # In organisation order: the new entries of the org_path-led indexes then fall on neighbouring index pages
    # instead of all over each index.
    rows = sorted(rows, key=lambda r: r.data["organization"].path)
    for org in {r.data["organization"].pk: r.data["organization"] for r in rows}.values():
        # Validation checked these; a direct caller gets the same refusal (and nothing is saved).
        if not (actor.has_capability("member.import", org.path) and actor.has_capability("member.manage", org.path)):
            raise PermissionDenied()
    try:
        return _save_rows(actor, rows, count=len(rows), file_format=file_format)
    except IntegrityError:  # someone registered one of these numbers since the validation
        raise ValidationFailed(
            "身份证号重复", fields={"id_number": [DUPLICATE_ID + "（可能有人刚刚登记了同一号码，请重新导入）"]}
        ) from None


def _save_rows(actor, rows: Iterable[ValidRow], *, count: int, file_format: str) -> int:
    """Insert the members, their periods and counters, and the audit entry, in the caller's transaction. `rows`
    may be a generator (the one-pass import checks each row as it is sent); `count` is how many it yields: the
    members' ids are reserved for that many first (core.bulk.reserve_ids), so that a chunk's periods can point
    at its members before they are written.

    A chunk at a time: built (encrypted, hashed, masked), counted up, handed to the writer's second thread,
    which writes its members, their periods and its counters while the next chunk is checked and built
    (core.bulk.BulkWriter; docs/performance.md §19). Nothing of the file's is left to write at the end."""
    new_member, new_period = _member_builder(), ModelTemplate(MembershipPeriod)
    by_org: Counter = Counter()
    saved = 0
    rows = iter(rows)
    with _import_page_cache(), transaction.atomic(), bulk_writer(Member) as writer:
        ids = reserve_ids(Member, count)
        while chunk := list(islice(rows, IMPORT_CHUNK)):
            if saved + len(chunk) > count:
                raise ValueError(f"roster import: more than the {count} rows announced")
            members = [new_member(r.data, r.id_number_digest, pk)
                       for r, pk in zip(chunk, ids[saved : saved + len(chunk)], strict=True)]
            writer.insert(Member, members)
            writer.insert(MembershipPeriod, [
                new_period(member_id=m.pk, organization_id=m.organization_id, org_path=m.org_path,
                           start=r.since or m.joined_on, reason="名册导入")
                for m, r in zip(members, chunk, strict=True)])
            tally_write(_tally_totals(members, chunk), writer=writer)
            writer.flush()
            saved += len(chunk)
            by_org.update(r.data["organization"].name for r in chunk)
        if saved != count:
            raise ValueError(f"roster import: {saved} rows given, {count} announced")
    log_action(actor=actor, action="members.roster.imported",
               changes={"count": saved, "organizations": len(by_org), "by_organization": dict(by_org.most_common(50)),
                        "file_format": file_format})
    return saved


class _NotClean(Exception):
    """The one-pass import met a row it cannot save, or the database refused one: roll back, validate in full."""


@transaction.atomic
def _import_in_one_pass(*, actor, sheet: RosterSheet, today: dt.date | None) -> int:
    """Check each row and send it to the database at once, a chunk at a time: the database's work on a chunk
    (core.bulk.BulkWriter's second thread) then overlaps the checks of the next, which a
    validate-then-save import cannot do (docs/performance.md §16). Nothing is kept unless every row passes:
    the first row with any error, an ID number given twice, or one already registered (the unique index
    refuses it) raises `_NotClean` and the transaction rolls back. The file's organisations are locked when
    they are looked up, so they stay as checked until the end."""
    checker = _RowChecker(actor, sheet, today, lock=True)

    def checked():
        for row_no, cells in _in_organisation_order(sheet, checker.orgs):
            row = checker.check(row_no, cells)
            if not isinstance(row, ValidRow) or checker.earlier:
                raise _NotClean
            yield row

    try:
        return _save_rows(actor, checked(), count=len(sheet.rows), file_format=sheet.file_format)
    except IntegrityError:
        raise _NotClean from None


def _tally_totals(members: list[Member], rows: list[ValidRow]) -> dict:
    """A chunk's counter changes, added up per organisation and ancestor (orgs.tallies.roll_up: per (path, key)
    first, then level by level): one counter upsert per chunk, in the import's transaction."""
    return tally_totals((m.org_path, member_dimensions(m, r.data["organization"].sector), 1)
                        for m, r in zip(members, rows, strict=True))


_CURRENT = ("path", "sector", "name", "is_dissolved")  # what the save reads of a row's organisation


def _current_organizations(rows: list[ValidRow]) -> None:
    """Lock the rows' organisations and bring each row's organisation up to date: a move or a change of 领域
    since the validation would otherwise leave these members with the old path or sector (the copies on the
    member row), and one dissolved since then must refuse the file. Organisations before members, the order
    every writer takes them in. The fields the save reads are set on the validation's instances (one per
    organisation): building a fresh instance of each of 9,000 branches cost 0.1–0.2 s (bench/, issue 8)."""
    first_row: dict[int, tuple[Organization, int]] = {}  # one entry per instance, in row order
    for r in rows:
        first_row.setdefault(id(r.data["organization"]), (r.data["organization"], r.row))
    locked = Organization.unscoped.select_for_update().order_by()
    current: dict[int, tuple] = {}
    pks = sorted({org.pk for org, _ in first_row.values()})
    for i in range(0, len(pks), ORG_CHUNK):
        current.update((pk, values) for pk, *values in
                       locked.filter(pk__in=pks[i : i + ORG_CHUNK]).values_list("pk", *_CURRENT))
    for org, row in first_row.values():
        for name, value in zip(_CURRENT, current[org.pk], strict=True):
            setattr(org, name, value)
        if org.is_dissolved:
            raise ValidationFailed("所在党组织已撤销", fields={"organization": [
                f"所在党组织：“{org.name}”已撤销，不能再导入党员（第{row}行）"]})


def _member_builder():
    """`services.member_build` (Member() plus `member_assign`: encryption, digests, masks, org path, MMDD) with the
    Member built from the import's template instead of Member()."""
    template = ModelTemplate(Member)

    def build(data: dict, id_number_digest: str = "", pk: int | None = None) -> Member:
        member = template(id=pk)
        member_assign(member, data, id_number_digest=id_number_digest)
        return member

    return build


@contextmanager
def _import_page_cache():
    """SQLite only: a bigger page cache while the import writes. Each new member adds an entry to ten indexes,
    each on a different page of a big index; once SQLite's page cache (config/settings.py: 64 MB) is full of changed
    pages it writes them to the WAL mid-transaction and reads them back, which doubled the time of a
    10,000-row import into 1,000,000 members (bench/, issue 8). The setting bounds the memory; the
    connection's own size is restored afterwards (it serves the next requests)."""
    connection = connections[router.db_for_write(Member)]
    size_mb = settings.DANGJIAN_IMPORT_SQLITE_CACHE_MB
    if connection.vendor != "sqlite" or not size_mb:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = {-1024 * int(size_mb)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {previous}")


@dataclass
class ImportOutcome:
    total: int = 0  # data rows read
    saved: int = 0
    errors: list[RowError] = field(default_factory=list)
    seconds: float = 0.0


def _in_organisation_order(sheet: RosterSheet, orgs: OrgLookup) -> list[tuple[int, list]]:
    """The rows by the path of the organisation they name (one the lookup cannot name first: its check fails):
    the new entries of the org_path-led indexes then fall on neighbouring index pages instead of all over each
    index, as `save_roster` inserts them. Without it a street's 100,000 rows took 31 s instead of 25–29
    (docs/performance.md §16)."""
    j = _org_column(sheet)
    if j is None:
        return sheet.rows
    return sorted(sheet.rows, key=lambda r: orgs.path_of(_org_text(r[1][j]) if j < len(r[1]) else ""))


def roster_import(*, actor, upload, today: dt.date | None = None) -> ImportOutcome:
    """Read, validate, and save every row or none. A file whose rows all pass is checked and saved in one pass;
    otherwise that pass is rolled back and the file is validated in full, so that the report names every error
    with its row (a bad file takes longer, a good one is quicker). File-level problems raise RosterFileError."""
    started = time.perf_counter()
    with _collector_paused():
        sheet = read_roster(upload)
        outcome = ImportOutcome(total=len(sheet.rows))
        try:
            outcome.saved = _import_in_one_pass(actor=actor, sheet=sheet, today=today)
        except _NotClean:
            result = validate_roster(actor=actor, sheet=sheet, today=today)
            outcome.errors = result.errors
            if result.ok:  # what stopped the pass is gone (a registration undone meanwhile): save as validated
                outcome.saved = save_roster(actor=actor, rows=result.rows, file_format=sheet.file_format)
    outcome.seconds = time.perf_counter() - started
    return outcome


@contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off while an import runs. An import keeps every row alive until it
    saves (cells, cleaned data, members: millions of objects for 100,000 rows, hardly any in a cycle), and
    the collector kept rescanning them: 22 % of the CPU time of a 100,000-row import (bench/, issue 8).
    Reference counting still frees what the import drops; the collector is back on at the end (only if it
    was on: a process that runs without it stays without it)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --- The error report --------------------------------------------------------------------------------


def write_error_report(errors: Iterable[RowError], target) -> None:
    """行号 / 列 / 值 / 原因 as .xlsx into `target` (a path or a binary file object)."""
    workbook = xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_numbers": False,
                                            "strings_to_formulas": False, "strings_to_urls": False})
    sheet = workbook.add_worksheet("错误报告")
    bold = workbook.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    sheet.set_column(0, 0, 8)
    sheet.set_column(1, 1, 14)
    sheet.set_column(2, 2, 24)
    sheet.set_column(3, 3, 70)
    sheet.write_row(0, 0, ["行号", "列", "值", "原因"], bold)
    sheet.freeze_panes(1, 0)
    i = 0
    for i, e in enumerate(errors, start=1):
        sheet.write_number(i, 0, e.row)
        sheet.write_string(i, 1, e.column or "（整行）")
        sheet.write_string(i, 2, e.value)
        sheet.write_string(i, 3, e.reason)
    sheet.autofilter(0, 0, max(i, 1), 3)
    workbook.close()


_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _report_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / REPORT_DIR


def store_error_report(errors: list[RowError]) -> str:
    """Write the report under MEDIA_ROOT/import-errors/<token>.xlsx and return the token. Reports older than
    a day are removed on the way (they hold names and masked numbers; nobody needs them tomorrow)."""
    folder = _report_dir()
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - REPORT_MAX_AGE
    for old in folder.glob("*.xlsx"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            pass
    token = secrets.token_urlsafe(24)
    write_error_report(errors, str(folder / f"{token}.xlsx"))
    return token


def error_report_path(token: str) -> Path | None:
    if not token or not _TOKEN_RE.match(token):
        return None
    path = _report_dir() / f"{token}.xlsx"
    return path if path.is_file() else None


def discard_error_report(token: str) -> None:
    path = error_report_path(token)
    if path is not None:
        path.unlink(missing_ok=True)


# --- The template ------------------------------------------------------------------------------------


def build_template(*, actor) -> bytes:
    """The import template: the 党员名册 sheet (headers only, ID/phone columns as text, dates as dates),
    填写说明 (each column, its allowed values, an example row), 代码表 and 组织列表 (what the actor may import into)."""
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False})
    text = wb.add_format({"num_format": "@"})
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    head = wb.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1, "align": "center"})
    head_req = wb.add_format({"bold": True, "bg_color": "#FDE9E7", "font_color": "#B71C1C", "border": 1,
                              "align": "center"})
    title = wb.add_format({"bold": True, "font_size": 14})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    bold = wb.add_format({"bold": True})

    data = wb.add_worksheet(DATA_SHEET)
    widths = {"id": 22, "phone": 14, "date": 13, "org": 24, "text": 16, "code": 14, "flag": 9}
    for i, col in enumerate(COLUMNS):
        fmt = text if col.kind in ("id", "phone", "text", "code", "org", "flag") else date
        data.set_column(i, i, widths[col.kind], fmt)
        data.write_string(0, i, col.header, head_req if col.required else head)
        data.write_comment(0, i, f"{'必填' if col.required else '选填'}：{col.help}",
                           {"x_scale": 2, "y_scale": 1.5})
    data.freeze_panes(1, 0)
    last = 5000
    lists = {"gender": ["男", "女"], "status": [s.label for s in MemberStatus], "is_mobile": ["是", "否"],
             "is_lost_contact": ["是", "否"]}
    for i, col in enumerate(COLUMNS):
        if col.field in lists:
            data.data_validation(1, i, last, i, {"validate": "list", "source": lists[col.field],
                                                 "error_type": "warning"})

    # 填写说明: one line per column, then an example row (the data sheet stays empty).
    help_ = wb.add_worksheet(HELP_SHEET)
    help_.set_column(0, 0, 16)
    help_.set_column(1, 1, 8)
    help_.set_column(2, 2, 80)
    help_.set_column(3, 3, 22)
    help_.write_string(0, 0, "党员名册导入说明", title)
    notes = [
        "1. 在“党员名册”工作表第1行表头下面逐行填写，每行一名党员；表头不要改动，空行会被跳过。",
        "2. 所有行都检查无误后才会一次全部导入；只要有一行有错，就一行也不导入，并给出错误报告（行号、列、原因）。",
        "3. 身份证号、手机号码两列请保持“文本”格式，否则 Excel 会把身份证号变成 1.10105E+17 这样的数字并丢失后几位。",
        "4. 日期可写成 2001-07-01、2001/7/1、2001.7.1 或 2001年7月1日，也可以是 Excel 日期。",
        "5. 代码类的列（性别、民族、学历、职业类别、党员类别）填名称或代码均可，见“代码表”。",
        "6. 所在党组织填“组织列表”中的组织全称；有同名组织时填其编号。只能导入到您有权管理的组织。",
    ]
    for i, note in enumerate(notes, start=1):
        help_.write_string(i, 0, note)
    row = len(notes) + 2
    help_.write_row(row, 0, ["列名", "是否必填", "填写要求和可填写的值", "示例"], head)
    for i, col in enumerate(COLUMNS, start=row + 1):
        help_.write_string(i, 0, col.header, bold if col.required else None)
        help_.write_string(i, 1, "必填" if col.required else "选填")
        help_.write_string(i, 2, col.help, wrap)
        help_.write_string(i, 3, col.example)
    row = row + len(COLUMNS) + 3
    help_.write_string(row, 0, "示例行（仅作参考，请在“党员名册”工作表填写；示例身份证号为虚构号码）", bold)
    for i, col in enumerate(COLUMNS):
        help_.write_string(row + 1, i, col.header, head_req if col.required else head)
        help_.write_string(row + 2, i, col.example)

    # 代码表
    codes_ = wb.add_worksheet(CODES_SHEET)
    tables = [
        ("民族代码", "民族名称", codes.ETHNICITY_CHOICES),
        ("学历代码", "学历名称", codes.EDUCATION_CHOICES),
        ("职业类别代码", "职业类别名称", codes.Occupation.choices),
        ("党员类别代码", "党员类别", MemberStatus.choices),
        ("性别代码", "性别", codes.Gender.choices),
    ]
    for t, (code_head, name_head, choices) in enumerate(tables):
        c = t * 3
        codes_.set_column(c, c, 12, text)
        codes_.set_column(c + 1, c + 1, 32)
        codes_.write_row(0, c, [code_head, name_head], head)
        for i, (code, name) in enumerate(choices, start=1):
            codes_.write_string(i, c, str(code))
            codes_.write_string(i, c + 1, str(name))

    # 组织列表: where this actor may import
    orgs_ = wb.add_worksheet(ORGS_SHEET)
    orgs_.set_column(0, 0, 36)
    orgs_.set_column(1, 1, 10)
    orgs_.set_column(2, 2, 36)
    orgs_.write_row(0, 0, ["组织全称（填入“所在党组织”列）", "编号", "上级组织"], head)
    lookup = OrgLookup(actor)
    names = {o.pk: o.name for o in lookup.orgs}
    rows = [o for o in lookup.orgs if not o.is_dissolved and lookup._may_import(o)]
    for i, org in enumerate(rows, start=1):
        orgs_.write_string(i, 0, org.name)
        orgs_.write_number(i, 1, org.pk)
        orgs_.write_string(i, 2, names.get(org.parent_id, ""))
    if rows:
        org_col = HEADERS.index("所在党组织")
        data.data_validation(1, org_col, last, org_col, {
            "validate": "list", "source": f"='{ORGS_SHEET}'!$A$2:$A${len(rows) + 1}", "error_type": "warning"})
    data.activate()
    wb.close()
    return out.getvalue()


# --- Export ------------------------------------------------------------------------------------------


def export_queryset(*, actor, filters: MemberFilters):
    """The scoped, filtered roster, limited to where the actor may export, in roster order."""
    paths = actor.capability_paths("member.export")
    if not paths:
        raise PermissionDenied("您没有导出党员名册的权限。")
    current_start = MembershipPeriod.unscoped.filter(member=OuterRef("pk"), end__isnull=True).values("start")[:1]
    return (
        member_list(filters=filters)
        .filter(subtree_q("org_path", paths))
        .annotate(since=Subquery(current_start))
    )


def _audit_filters(filters: MemberFilters) -> dict:
    """The filters as the audit may hold them: an ID number or phone typed as the search is masked."""
    q = " ".join(filters.q.split())
    if ID_LIKE.match(q):
        q = mask_id_number(q.upper())
    elif PHONE_LIKE.match(q):
        q = mask_phone(q)
    out = {"q": q, "org": filters.org.name if filters.org else "", "status": filters.status,
           "gender": filters.gender, "age_band": filters.age_band, "education_level": filters.education_level,
           "sector": filters.sector}
    return {k: v for k, v in out.items() if v}


def roster_export(*, actor, filters: MemberFilters, reveal: bool, target) -> int:
    """Write the filtered roster as .xlsx into `target` and audit it; returns the row count.

    Masked by default. `reveal` gives full ID numbers and phones only if the actor holds member.reveal on
    every organisation in the export (refused as a whole otherwise), and is audited as such.
    """
    qs = export_queryset(actor=actor, filters=filters)
    if reveal:
        paths = qs.order_by().values_list("org_path", flat=True).distinct()
        if not all(actor.has_capability("member.reveal", p) for p in paths):
            raise PermissionDenied("您没有查看完整身份证号和手机号码的权限，只能导出脱敏名册。")
    may_reveal: dict[str, bool] = {}
    eth = dict(codes.ETHNICITY_CHOICES)
    edu = dict(codes.EDUCATION_CHOICES)
    occ = dict(codes.Occupation.choices)
    gender = dict(codes.Gender.choices)
    status = dict(MemberStatus.choices)

    workbook = xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_numbers": False,
                                           "strings_to_formulas": False, "strings_to_urls": False})
    sheet = workbook.add_worksheet(DATA_SHEET)
    head = workbook.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    date_fmt = workbook.add_format({"num_format": "yyyy-mm-dd"})
    text_fmt = workbook.add_format({"num_format": "@"})
    headers = [*HEADERS, "党籍状态"]
    for i, col in enumerate(COLUMNS):
        sheet.set_column(i, i, {"id": 22, "phone": 14, "date": 12, "org": 24}.get(col.kind, 12),
                         text_fmt if col.kind in ("id", "phone") else None)
    sheet.write_row(0, 0, headers, head)
    count = 0
    for count, m in enumerate(qs.iterator(chunk_size=2000), start=1):
        full = False
        if reveal:
            full = may_reveal.get(m.org_path)
            if full is None:  # a member that moved in since the check above: masked unless allowed
                full = may_reveal[m.org_path] = actor.has_capability("member.reveal", m.org_path)
        id_number = crypto.decrypt(m.id_number_encrypted) if full else m.id_number_masked
        phone = crypto.decrypt(m.phone_encrypted) if full else m.phone_masked
        r = count
        sheet.write_string(r, 0, m.name)
        sheet.write_string(r, 1, id_number)
        sheet.write_string(r, 2, gender.get(m.gender, m.gender))
        sheet.write_string(r, 3, eth.get(m.ethnicity, m.ethnicity))
        sheet.write_datetime(r, 4, m.birth_date, date_fmt)
        sheet.write_string(r, 5, phone)
        sheet.write_string(r, 6, edu.get(m.education, m.education))
        sheet.write_string(r, 7, occ.get(m.occupation, m.occupation))
        sheet.write_string(r, 8, m.work_unit)
        sheet.write_string(r, 9, m.post)
        sheet.write_string(r, 10, m.address)
        sheet.write_string(r, 11, m.organization.name)
        sheet.write_string(r, 12, status.get(m.status, m.status))
        sheet.write_datetime(r, 13, m.joined_on, date_fmt)
        if m.confirmed_on:
            sheet.write_datetime(r, 14, m.confirmed_on, date_fmt)
        if m.since:
            sheet.write_datetime(r, 15, m.since, date_fmt)
        sheet.write_string(r, 16, "是" if m.is_mobile else "否")
        sheet.write_string(r, 17, "是" if m.is_lost_contact else "否")
        sheet.write_string(r, 18, Standing(m.standing).label if m.standing in Standing.values else m.standing)
    sheet.freeze_panes(1, 0)
    workbook.close()
    log_action(actor=actor, action="members.roster.exported",
               changes={"count": count, "reveal": bool(reveal), "filters": _audit_filters(filters)})
    return count
