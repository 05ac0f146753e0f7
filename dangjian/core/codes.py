"""National code tables used by the roster (DOMAIN-RULES §5.2). Stored as codes, shown as names."""

from django.db import models

# GB/T 3304-1991 民族
_ETHNICITIES = (
    "汉族 蒙古族 回族 藏族 维吾尔族 苗族 彝族 壮族 布依族 朝鲜族 满族 侗族 瑶族 白族 土家族 哈尼族 哈萨克族 傣族 黎族 "
    "傈僳族 佤族 畲族 高山族 拉祜族 水族 东乡族 纳西族 景颇族 柯尔克孜族 土族 达斡尔族 仫佬族 羌族 布朗族 撒拉族 毛南族 "
    "仡佬族 锡伯族 阿昌族 普米族 塔吉克族 怒族 乌孜别克族 俄罗斯族 鄂温克族 德昂族 保安族 裕固族 京族 塔塔尔族 独龙族 "
    "鄂伦春族 赫哲族 门巴族 珞巴族 基诺族"
).split()
ETHNICITY_CHOICES = [(f"{i:02d}", name) for i, name in enumerate(_ETHNICITIES, start=1)] + [
    ("97", "其他"),
    ("98", "外国血统中国籍人士"),
]
HAN = "01"

# GB/T 4658-2006 学历 (the codes offices use; the first digit is the level)
EDUCATION_CHOICES = [
    ("10", "研究生教育"), ("11", "博士研究生毕业"), ("12", "博士研究生结业"), ("13", "博士研究生肄业"),
    ("14", "硕士研究生毕业"), ("15", "硕士研究生结业"), ("16", "硕士研究生肄业"),
    ("17", "研究生班毕业"), ("18", "研究生班结业"), ("19", "研究生班肄业"),
    ("20", "大学本科"), ("21", "大学本科毕业"), ("22", "大学本科结业"), ("23", "大学本科肄业"), ("28", "大学普通班毕业"),
    ("30", "大学专科"), ("31", "大学专科毕业"), ("32", "大学专科结业"), ("33", "大学专科肄业"),
    ("40", "中等职业教育"), ("41", "中等专科毕业"), ("42", "中等专科结业"), ("43", "中等专科肄业"),
    ("44", "职业高中毕业"), ("45", "职业高中结业"), ("46", "职业高中肄业"),
    ("47", "技工学校毕业"), ("48", "技工学校结业"), ("49", "技工学校肄业"),
    ("60", "普通高级中学教育"), ("61", "普通高中毕业"), ("62", "普通高中结业"), ("63", "普通高中肄业"),
    ("70", "初级中学教育"), ("71", "初中毕业"), ("73", "初中肄业"),
    ("80", "小学教育"), ("81", "小学毕业"), ("83", "小学肄业"),
    ("90", "其他"),
]
# Level groups used by statistics (the first digit of the code).
EDUCATION_LEVELS = [
    ("1", "研究生"), ("2", "大学本科"), ("3", "大学专科"), ("4", "中专/职高/技校"),
    ("6", "高中"), ("7", "初中"), ("8", "小学"), ("9", "其他"),
]
COLLEGE_AND_ABOVE_MAX = "39"  # "大专及以上" = codes 10–39


class Occupation(models.TextChoices):
    """The eight 党内统计 occupation categories (DOMAIN-RULES §5.2)."""

    WORKER = "worker", "工人（工勤技能人员）"
    FARMER = "farmer", "农牧渔民"
    PROFESSIONAL = "professional", "企事业单位、社会组织专业技术人员"
    MANAGER = "manager", "企事业单位、社会组织管理人员"
    OFFICIAL = "official", "党政机关工作人员"
    STUDENT = "student", "学生"
    OTHER = "other", "其他职业人员"
    RETIRED = "retired", "离退休人员"


class Gender(models.TextChoices):
    MALE = "male", "男"
    FEMALE = "female", "女"


# Age bands of the 公报 (DOMAIN-RULES §5.2): (label, lowest age, highest age)
AGE_BANDS = [
    ("30岁及以下", 0, 30), ("31-35岁", 31, 35), ("36-40岁", 36, 40), ("41-45岁", 41, 45),
    ("46-50岁", 46, 50), ("51-55岁", 51, 55), ("56-60岁", 56, 60), ("61岁及以上", 61, 200),
]


def lookup_code(choices, value: str) -> str | None:
    """Accept either the code or the Chinese name (import files carry either); None when unknown."""
    value = (value or "").strip()
    for code, name in choices:
        if value in (code, name):
            return code
    if value.isdigit() and len(value) == 1:  # "1" typed into a spreadsheet for "01"
        return lookup_code(choices, f"0{value}")
    return None
