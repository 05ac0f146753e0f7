"""The demo district: a realistic, deterministic organisation tree and roster (`manage.py seed_demo`, bench/).

Three layers, so the benchmark generator can reuse what it needs:

1. `build_plan(members=, seed=)` → an `OrgSpec` tree (no database): 区委 → 街道党工委 (社区, 两新, 街道机关),
   区直机关工委 (机关), 区教育局党委 (学校), with 党委/党总支/支部/联合支部/党小组 and a target size per branch.
2. `iter_members(plan, seed=, today=)` → `MemberRow`s (plain values, no database), branch by branch.
3. `load_district(...)` → writes it: organisations through `organization_create` (each audited), members,
   membership periods and committee seats with `core.bulk.bulk_insert` (explicit ids), optional demo
   accounts, and one audit entry summarising the seed. The caller opens the scope (`system_scope`) and passes a fixed `today` for tests.

The same seed gives the same tree, names, ID numbers and phones: every draw comes from `random.Random`
instances seeded from (seed, purpose), never the global generator, and ages are counted from `today`.
Only ciphertexts differ between runs (AES-GCM uses a fresh nonce); the lookup digests are identical.

Proportions follow the 2024 national figures (DOMAIN-RULES §5.3) adapted to an urban district: most of the
farmers' share (26%) goes to workers, other occupations and retirees. Targets are in `TARGETS`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dangjian.core import codes
from dangjian.core.validators import build_id_number

if TYPE_CHECKING:
    from dangjian.orgs.models import Organization


# ---------------------------------------------------------------------------------------------------------
# Targets (DOMAIN-RULES §5.3, 2024 communiqué), occupations adapted to an urban district
# ---------------------------------------------------------------------------------------------------------

TARGETS = {
    "female": 0.309,
    "minority": 0.077,
    "college": 0.576,  # 大专及以上
    "probationary": 0.02,
    # 2024: workers 6.6%, farmers 26.1%, professionals 16.3%, managers 11.5%, officials 7.6%, students 2.6%,
    # others 7.8%, retired 21.4%. An urban district has few farmers: their share moves to workers (+8),
    # others (+8), retirees (+4), professionals and managers (+1 each).
    "occupation": {
        "worker": 0.15, "farmer": 0.015, "professional": 0.185, "manager": 0.125, "official": 0.08,
        "student": 0.03, "other": 0.16, "retired": 0.255,
    },
    # ≤30, 31–35, 36–40, 41–45, 46–50, 51–55, 56–60, ≥61 (万): 1227.2 1076.4 1147.5 968.7 904.1 941.2 864.6 2897.3
    "age_band": (0.122, 0.107, 0.114, 0.097, 0.090, 0.094, 0.086, 0.289),
    # before 1949-10; 1949-10 to 1978-12; 1978-12 to 2012-11; since 2012-11 (万): 5.4 1230.9 5980.0 2810.8
    "joined_period": (0.0005, 0.123, 0.596, 0.280),
}
JOIN_PERIOD_BOUNDS = (dt.date(1949, 10, 1), dt.date(1978, 12, 18), dt.date(2012, 11, 8))
MIN_MEMBERS = 200

# ---------------------------------------------------------------------------------------------------------
# Member profiles: what kind of people a branch holds
# ---------------------------------------------------------------------------------------------------------

OCCUPATIONS = ("worker", "farmer", "professional", "manager", "official", "student", "other", "retired")


@dataclass(frozen=True)
class Profile:
    share: float  # of all members
    occupations: tuple[float, ...]  # weights in OCCUPATIONS order
    size: tuple[int, int, int]  # branch size: low, mode, high (triangular)


#                                                    wrk  frm  pro  mgr  off  stu  oth  ret
PROFILES: dict[str, Profile] = {
    "community": Profile(0.315, (.12, .05, .03, .03, 0, 0, .24, .53), (18, 44, 50)),
    "street_office": Profile(0.016, (.05, 0, .10, 0, .85, 0, 0, 0), (14, 38, 48)),
    "enterprise_tech": Profile(0.095, (.05, 0, .55, .35, 0, 0, .05, 0), (8, 40, 50)),
    "enterprise_industry": Profile(0.085, (.55, 0, .20, .20, 0, 0, .05, 0), (10, 42, 50)),
    "enterprise_trade": Profile(0.07, (.25, 0, .05, .40, 0, 0, .30, 0), (8, 36, 50)),
    "enterprise_services": Profile(0.060, (.33, 0, 0, .07, 0, 0, .60, 0), (10, 40, 50)),
    "social": Profile(0.040, (.05, 0, .40, .25, 0, 0, .30, 0), (6, 26, 45)),
    "joint": Profile(0.030, (.30, 0, .15, .35, 0, 0, .20, 0), (6, 20, 35)),
    "agency": Profile(0.078, (.05, 0, .08, .02, .85, 0, 0, 0), (12, 42, 50)),
    "agency_retired": Profile(0.050, (0, 0, 0, 0, 0, 0, 0, 1), (15, 42, 50)),
    "school": Profile(0.0895, (.05, 0, .85, .10, 0, 0, 0, 0), (12, 38, 50)),
    "school_student": Profile(0.0315, (0, 0, .05, 0, 0, .95, 0, 0), (10, 30, 45)),
    "school_retired": Profile(0.040, (0, 0, 0, 0, 0, 0, 0, 1), (15, 42, 50)),
}
ENTERPRISE_PROFILES = ("enterprise_tech", "enterprise_industry", "enterprise_trade", "enterprise_services")
OVERSIZE_SHARE = 0.03  # branches of 51–60 members: the "split the branch" warning fires for a few
UNDERSIZE_SHARE = 0.01  # branches of 2 members: the "fewer than 3 full members" warning fires for a few
PARTY_GROUP_SHARE = 0.08  # of branches with ≥ 30 members (2–3 groups each)


# Age bands (18–30 … ≥61) per occupation; weights chosen so the mix comes out at TARGETS["age_band"].
AGE_BANDS = ((18, 30), (31, 35), (36, 40), (41, 45), (46, 50), (51, 55), (56, 60), (61, 100))
AGE_BY_OCCUPATION = {
    "worker": (13, 15, 17, 16, 15, 13, 9, 2),
    "farmer": (3, 4, 6, 8, 10, 12, 14, 43),
    "professional": (18, 19, 18, 15, 12, 9, 7, 2),
    "manager": (9, 13, 16, 14, 13, 11, 8, 16),
    "official": (15, 18, 18, 15, 14, 11, 8, 1),
    "other": (12, 12, 13, 11, 10, 9, 7, 26),
    "retired": (0, 0, 0, 0, 0, 7, 11, 82),
}
# Within 18–30: few members are under 22.
YOUNG_AGE_WEIGHTS = {18: 1, 19: 2, 20: 3, 21: 4, 22: 7, 23: 8, 24: 9, 25: 9, 26: 9, 27: 9, 28: 9, 29: 9, 30: 9}
# Within ≥61: a long tail up to 100 (members who joined before 1949 are in their nineties).
OLD_AGE_WEIGHTS = {a: w for lo, hi, w in ((61, 65, 52), (66, 70, 50), (71, 75, 42), (76, 80, 30), (81, 85, 20),
                                          (86, 90, 11), (91, 95, 3), (96, 100, 0.6)) for a in range(lo, hi + 1)}
STUDENT_AGE_WEIGHTS = {18: 1, 19: 3, 20: 4, 21: 4, 22: 2, 23: 1}

FEMALE_BY_OCCUPATION = {"worker": .22, "farmer": .25, "professional": .45, "manager": .30, "official": .30,
                        "student": .50, "other": .30, "retired": .25}
COLLEGE_BY_OCCUPATION = {"worker": .34, "farmer": .10, "professional": .95, "manager": .80, "official": .97,
                         "student": 1.0, "other": .43}
COLLEGE_RETIRED = (.37, .14)  # under 75, 75 and over
# GB/T 4658-2006 codes with weights
COLLEGE_CODES = {
    "official": {"11": 2, "14": 28, "21": 60, "31": 10},
    "professional": {"11": 4, "14": 26, "21": 55, "31": 15},
    "manager": {"14": 15, "21": 55, "31": 30},
    "student": {"21": 40, "31": 60},
    "*": {"14": 3, "21": 35, "31": 62},
}
SCHOOL_CODES = (  # below 大专, by age
    (45, {"41": 25, "44": 15, "47": 15, "61": 40, "71": 5}),
    (65, {"41": 20, "44": 10, "47": 10, "61": 35, "71": 25}),
    (200, {"41": 10, "61": 30, "71": 40, "81": 20}),
)
# Age at joining for full members (recruits: 83.7% are 35 and under).
JOIN_AGE_BUCKETS = (((18, 22), 50), ((23, 27), 30), ((28, 32), 10), ((33, 35), 4), ((36, 45), 5), ((46, 55), 1))
# Members born before 1960 joined younger (the 1950s–1980s recruited mostly in their twenties).
JOIN_AGE_BUCKETS_OLD = (((18, 22), 35), ((23, 27), 35), ((28, 35), 24), ((36, 45), 6))

MINORITY_WEIGHTS = {  # GB/T 3304 names; 回族 is the largest minority in a Jiangsu city
    "回族": 30, "满族": 14, "蒙古族": 8, "壮族": 8, "土家族": 7, "苗族": 6, "朝鲜族": 5, "维吾尔族": 4, "彝族": 3,
    "藏族": 3, "布依族": 2, "侗族": 2, "瑶族": 2, "白族": 2, "畲族": 1, "黎族": 1, "哈萨克族": 1, "傣族": 1,
}

# ---------------------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------------------

SURNAMES = (
    "王7.1 李7.0 张6.7 刘5.4 陈4.6 杨3.1 黄2.5 赵2.3 吴2.0 周1.9 徐1.5 孙1.5 马1.4 朱1.3 胡1.3 郭1.2 何1.2 高1.1 "
    "林1.1 罗0.9 郑0.9 梁0.9 谢0.8 宋0.7 唐0.7 许0.7 韩0.7 冯0.7 邓0.7 曹0.6 彭0.6 曾0.6 肖0.6 田0.5 董0.5 袁0.5 "
    "潘0.5 于0.5 蒋0.5 蔡0.5 余0.5 杜0.4 叶0.4 程0.4 苏0.4 魏0.4 吕0.4 丁0.4 任0.4 沈0.4 姚0.4 卢0.4 姜0.3 崔0.3 "
    "钟0.3 谭0.3 陆0.3 汪0.3 范0.3 金0.3 石0.3 廖0.3 贾0.3 夏0.3 韦0.3 付0.3 方0.3 白0.2 邹0.2 孟0.2 熊0.2 秦0.2 "
    "邱0.2 江0.2 尹0.2 薛0.2 闫0.2 段0.2 雷0.2 侯0.2 龙0.2 史0.2 陶0.2 黎0.2 贺0.2 顾0.2 毛0.2 郝0.2 龚0.2 邵0.2 "
    "万0.2 钱0.2 严0.2 武0.2 戴0.2 覃0.1 莫0.1 孔0.1 向0.1 汤0.1 欧阳0.05 司马0.01 诸葛0.01 上官0.01"
).split()
GIVEN = {  # (era, gender): (characters for two-character names, classic full given names)
    ("old", "male"): ("建国华明军德福志文新春林海庆荣树宝忠民生贵富长永学卫红东平兴成仁义",
                      "建国 建华 国庆 卫东 红军 振华 志强 德明 金生 富贵 长林 春生 援朝 胜利 跃进 向东 保国 国华"),
    ("old", "female"): ("秀英兰桂芳珍凤玉华淑梅琴云霞莲萍红丽敏素",
                        "秀英 桂英 秀兰 玉兰 桂兰 凤英 淑珍 玉珍 秀珍 素芬 红梅 丽华 美华 爱华 建英 冬梅 桂芳"),
    ("mid", "male"): ("伟强磊军勇杰涛斌超明刚平辉波峰亮健鹏飞宁海东林华志永俊宏",
                      "志刚 海涛 建军 晓东 文斌 永强 俊杰 宏伟 立新 云飞 小军 国栋"),
    ("mid", "female"): ("丽静敏燕艳娟霞芳红玲萍琳雪梅莉慧洁颖华英晓",
                        "晓燕 丽娟 海燕 春梅 雪梅 小红 晓丽 美玲 秀丽 慧敏 红霞 静"),
    ("young", "male"): ("浩宇轩然博睿泽晨子铭俊杰鑫磊凯航一昊天辰逸阳宸",
                        "浩然 子轩 宇航 一鸣 博文 俊熙 梓豪 天佑 嘉懿 思远 晨阳 泽宇"),
    ("young", "female"): ("婷欣怡雨涵萱佳琪梦雪婧倩晴悦妍彤诗思瑶可馨露",
                          "欣怡 梓涵 雨萱 佳琪 诗涵 梦瑶 思彤 可馨 雨婷 子涵 紫萱 一诺"),
}

SURNAME_RE = re.compile(r"(\D+)([\d.]+)")
STREETS = ("东湖 西园 南苑 北岭 新华 朝阳 和平 建设 光明 解放 人民 滨江 龙江 凤凰 翠屏 锦绣 长乐 玉泉 金桥 银杏 梅园 "
           "桃源 柳营 青石 望江 清凉 白鹭 紫金 秦淮 双塘 红山 燕子矶 迈皋桥 孝陵卫 马群 仙林 尧化 八卦洲 江心洲 沙洲").split()
PLACES = ("幸福 安居 康乐 阳光 花园 文苑 翠竹 丽景 锦江 湖滨 春晖 紫荆 枫林 银河 金色 聚福 祥和 怡景 馨苑 御景 "
          "月牙湖 莫愁 五台山 华侨路 宁海路 湖南路 中央门 三牌楼 热河南 宝塔桥 挹江门 小市 南湖 兴隆 南苑 "
          "凤栖 龙园 金域 锦绣 东方 天润 瑞金 苜蓿园 后宰门 梅花山 卫岗 钟山 新街口 汉中门 龙华 虹桥").split()
COMMUNITY_SUFFIXES = ("", "", "", "新村", "花园", "东", "西", "南", "北", "一村", "二村", "三村")
ESTATES = "锦绣花园 阳光城 金色家园 翠湖苑 碧桂园 万科城 和园 枫丹白露 玉兰苑 丁香里 紫薇苑 龙湖天街 御湖湾".split()
ROADS = ("中山路 建设路 和平路 人民路 解放路 新华路 长江路 北京东路 中山东路 汉中路 江东北路 龙蟠路 虎踞路 "
         "应天大街 集庆路 瑞金路 御道街 光华路 清凉门大街 草场门大街 湖南路 云南路").split()
BRANDS = ("华通 鼎新 博远 恒瑞 中科 金陵 云帆 智联 天衡 汇丰 嘉禾 盛达 远航 启明 润泽 宏图 卓越 正泰 合力 瑞丰 "
          "同创 新宇 凯盛 东升 信达 永安 安泰 天翼 联创 方圆 蓝天 银河 星辰 欣荣 众诚 德润 华兴 国信 诚通 龙腾 "
          "锦程 海纳 睿思 极光 易达 优途 万象 百川 泰和 立信").split()
INDUSTRIES = {
    "enterprise_tech": "信息技术 网络科技 软件技术 智能科技 数据科技 电子科技 生物医药科技 新能源科技 智能装备 环保科技".split(),
    "enterprise_industry": "机械制造 电子 新材料 精密仪器 汽车零部件 建筑工程 建材 电气设备 食品 纺织".split(),
    "enterprise_trade": "商贸 商业管理 餐饮管理 酒店管理 文化传媒 电子商务 广告 贸易 供应链管理 医药连锁".split(),
    "enterprise_services": "物流 快递服务 物业服务 家政服务 保安服务 人力资源服务 城市服务 同城配送 运输 保洁服务".split(),
}
SOCIAL_KINDS = ("社会工作服务中心 律师事务所 会计师事务所 养老服务中心 行业协会 商会 青少年服务中心 社区服务社 "
                "文化艺术团 公益发展中心 评估事务所").split()
JOINT_KINDS = "商圈 科技园 个体工商户 新就业群体 非公企业 楼宇".split()  # "<street><kind>联合党支部"
BUILDINGS = "金融大厦 国际广场 科技大厦 创业大厦 中心大厦 商务中心 软件园 创意园".split()
AGENCIES = (  # {d} = the district's name
    "{d}委办公室 {d}人大常委会 {d}政府办公室 {d}政协 {d}纪委监委 {d}委组织部 {d}委宣传部 {d}委统战部 {d}委政法委 "
    "{d}发展和改革委员会 {d}财政局 {d}人力资源和社会保障局 {d}住房和城乡建设局 {d}卫生健康委员会 {d}民政局 {d}司法局 "
    "{d}市场监督管理局 {d}生态环境局 {d}应急管理局 {d}文化和旅游局 {d}统计局 {d}审计局 {d}商务局 {d}科学技术局 "
    "{d}农业农村局 {d}退役军人事务局 {d}医疗保障局 {d}信访局 {d}城市管理局 {d}交通运输局 {d}水务局 {d}数据局 "
    "{d}总工会 共青团{d}委员会 {d}妇女联合会 {d}科学技术协会 {d}档案馆 {d}机关事务管理局 {d}国有资产监督管理办公室 "
    "{d}投资促进中心"
).split()
AGENCY_POSTS = ("科员 一级科员 四级主任科员 三级主任科员 二级主任科员 科长 副科长 主任 副主任 办事员").split()
TEACHER_POSTS = ("教师 一级教师 高级教师 二级教师 教研组长 年级组长 班主任 教务主任").split()
ENTERPRISE_POSTS = {
    "worker": "操作工 技工 电工 焊工 驾驶员 仓管员 维修工 快递员 配送员 保安 保洁员".split(),
    "professional": "工程师 高级工程师 技术员 研发工程师 会计 律师 社工 设计师 产品经理 测试工程师".split(),
    "manager": "总经理 副总经理 部门经理 主管 行政经理 人事经理 项目经理 店长".split(),
    "other": "销售 客服 业务员 网约车司机 外卖骑手 个体经营者 店员".split(),
}
REGIONS_HOME = "320102 320104 320105 320106 320113 320114 320115 320116 320111 320117 320118 320103 320107".split()
REGIONS_OTHER = ("320205 320206 320211 320213 320302 320311 320321 320402 320411 320505 320506 320508 320602 "
                 "320681 320703 320803 320902 321002 321102 321202 321302 321322").split()
PHONE_PREFIXES = ("130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 173 176 177 "
                  "180 181 182 183 184 185 186 187 188 189 191 198 199").split()

CN_DIGITS = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 35 → 三十五 (1 ≤ n ≤ 99; larger numbers stay Arabic)."""
    if n < 10:
        return CN_DIGITS[n]
    if n >= 100:
        return str(n)
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else CN_DIGITS[tens]) + "十" + (CN_DIGITS[ones] if ones else "")


def add_years(day: dt.date, years: int) -> dt.date:
    """The same day `years` later (or earlier); 29 February becomes 1 March (a conservative birthday)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return dt.date(day.year + years, 3, 1)


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _weighted(rng: random.Random, table: dict):
    """A picker over {value: weight} with precomputed cumulative weights (fast in the member loop)."""
    values = list(table)
    cum = list(itertools.accumulate(table.values()))
    choices = rng.choices
    return lambda: choices(values, cum_weights=cum)[0]


# ---------------------------------------------------------------------------------------------------------
# 1. The organisation plan
# ---------------------------------------------------------------------------------------------------------


@dataclass(eq=False)
class OrgSpec:
    """One organisation to create. Branches carry a member profile and a target size."""

    name: str
    kind: str
    unit_category: str = ""
    sector: str = ""
    subdistrict: str = ""
    has_approval_authority: bool = False
    profile: str = ""
    size: int = 0
    unit: str = ""  # the members' work unit
    children: list[OrgSpec] = field(default_factory=list)

    def walk(self) -> Iterator[OrgSpec]:
        yield self
        for child in self.children:
            yield from child.walk()

    def branches(self) -> Iterator[OrgSpec]:
        return (o for o in self.walk() if o.profile)


class _Names:
    """Unique organisation names: a clash gets a new draw, and after a few a number."""

    def __init__(self):
        self.used: set[str] = set()

    def take(self, make: Callable[[], str]) -> str:
        for _ in range(20):
            name = make()
            if name not in self.used:
                self.used.add(name)
                return name
        base = make()
        for n in itertools.count(2):
            name = f"{base}{n}"
            if name not in self.used:
                self.used.add(name)
                return name
        raise AssertionError("unreachable")


def _split_sizes(total: int, profile: Profile, rng: random.Random) -> list[int]:
    """Cut `total` members into branch sizes: mostly lo..hi, a few oversized and a few tiny branches."""
    lo, mode, hi = profile.size
    sizes: list[int] = []
    remaining = total
    while remaining > 0:
        r = rng.random()
        if r < OVERSIZE_SHARE:
            s = rng.randint(51, 60)
        elif r < OVERSIZE_SHARE + UNDERSIZE_SHARE:
            s = 2
        else:
            s = round(rng.triangular(lo, hi, mode))
        if remaining <= max(s, lo):
            s = remaining
        elif remaining - s < lo:
            s = remaining - lo
        sizes.append(s)
        remaining -= s
    return sizes


def _profile_totals(members: int) -> dict[str, int]:
    """Members per profile, summing exactly to `members` (the community profile takes the rounding)."""
    totals = {k: round(members * p.share) for k, p in PROFILES.items()}
    totals["community"] += members - sum(totals.values())
    return totals


def _groups(items: list, choose: Callable[[int], int]) -> list[list]:
    """Cut a list into consecutive groups; `choose(remaining)` says how many the next group takes."""
    out, i = [], 0
    while i < len(items):
        k = max(1, min(choose(len(items) - i), len(items) - i))
        out.append(items[i:i + k])
        i += k
    return out


def build_plan(*, members: int, seed: int, district_name: str = "示范区") -> OrgSpec:
    """The organisation tree for `members` members: about one branch per 30–40 members."""
    from dangjian.orgs.models import OrgKind, Sector, UnitCategory

    if members < MIN_MEMBERS:
        raise ValueError(f"演示数据至少需要 {MIN_MEMBERS} 名党员")
    rng = random.Random(f"{seed}:plan")
    names = _Names()
    totals = _profile_totals(members)
    sizes = {k: _split_sizes(n, PROFILES[k], rng) for k, n in totals.items()}

    def branch(name, profile, size, *, kind=OrgKind.BRANCH, unit="", **kw) -> OrgSpec:
        return OrgSpec(name=names.take(lambda: name) if not callable(name) else names.take(name), kind=kind,
                       profile=profile, size=size, unit=unit, **kw)

    root = OrgSpec(name=f"{district_name}委", kind=OrgKind.DISTRICT_COMMITTEE)
    n_streets = max(3, min(40, round(members / 4000)))
    street_names = rng.sample(STREETS, min(n_streets, len(STREETS)))
    streets = [
        # 街道党工委 approve 预备党员 (DOMAIN-RULES §1.4); the 基层党委 below them only review
        OrgSpec(name=f"{s}街道党工委", kind=OrgKind.WORKING_COMMITTEE, sector=Sector.COMMUNITY, subdistrict=f"{s}街道",
                has_approval_authority=True)
        for s in street_names
    ]
    root.children.extend(streets)
    community_kw = dict(unit_category=UnitCategory.COMMUNITY, sector=Sector.COMMUNITY)
    new_kw = dict(unit_category=UnitCategory.PRIVATE_ENTERPRISE, sector=Sector.NEW_ECONOMIC_SOCIAL)
    social_kw = dict(unit_category=UnitCategory.SOCIAL_ORGANIZATION, sector=Sector.NEW_ECONOMIC_SOCIAL)
    agency_kw = dict(unit_category=UnitCategory.GOVERNMENT_AGENCY, sector=Sector.GOVERNMENT)
    school_kw = dict(unit_category=UnitCategory.SCHOOL, sector=Sector.SCHOOL)

    # 街道机关: one branch per street, a 党总支 when a street has two or more.
    for i, group in enumerate(_round_robin(sizes["street_office"], len(streets))):
        street = streets[i]
        office = f"{street.subdistrict}办事处"
        if not group:
            continue
        if len(group) == 1:
            street.children.append(branch(f"{street.subdistrict}机关党支部", "street_office", group[0], unit=office,
                                          subdistrict=street.subdistrict, **agency_kw))
            continue
        gb = OrgSpec(name=names.take(lambda s=street: f"{s.subdistrict}机关党总支"), kind=OrgKind.GENERAL_BRANCH,
                     subdistrict=street.subdistrict, **agency_kw)
        gb.children = [branch(f"{street.subdistrict}机关第{cn_number(k)}党支部", "street_office", s, unit=office,
                              subdistrict=street.subdistrict, **agency_kw) for k, s in enumerate(group, 1)]
        street.children.append(gb)

    # 社区: a 社区党委 (3–5 branches), a 社区党总支 (2) or a single 社区党支部.
    def community_take(left: int) -> int:
        r = rng.random()
        return rng.randint(3, 5) if r < 0.30 and left >= 3 else 2 if r < 0.55 and left >= 2 else 1

    community_groups = _groups(sizes["community"], community_take)
    for i, group in enumerate(community_groups):
        street = streets[i % len(streets)]
        place = names.take(lambda: rng.choice(PLACES) + rng.choice(COMMUNITY_SUFFIXES) + "社区")
        unit = f"{place}居民委员会"
        kw = dict(subdistrict=street.subdistrict, **community_kw)
        if len(group) == 1:
            street.children.append(branch(f"{place}党支部", "community", group[0], unit=unit, **kw))
            continue
        kind = OrgKind.PRIMARY_COMMITTEE if len(group) >= 3 and sum(group) >= 100 else OrgKind.GENERAL_BRANCH
        parent = OrgSpec(name=names.take(lambda p=place, k=kind: f"{p}{_committee_suffix(k)}"), kind=kind, **kw)
        estates = rng.sample(ESTATES, len(group))
        for k, s in enumerate(group, 1):
            label = f"{estates[k - 1]}小区党支部" if rng.random() < 0.4 else f"第{cn_number(k)}党支部"
            parent.children.append(branch(f"{place}{label}", "community", s, unit=unit, **kw))
        street.children.append(parent)

    # 两新: companies (a group company 党委, a 党总支 or one 党支部), social organisations and joint branches.
    enterprise = [(p, s) for p in ENTERPRISE_PROFILES for s in sizes[p]]
    rng.shuffle(enterprise)

    def enterprise_take(left: int) -> int:
        r = rng.random()
        return rng.randint(3, 5) if r < 0.04 and left >= 3 else 2 if r < 0.12 and left >= 2 else 1

    for i, group in enumerate(_groups(enterprise, enterprise_take)):
        street = streets[(i * 7 + 3) % len(streets)]
        industry = rng.choice(INDUSTRIES[group[0][0]])
        suffix = "集团有限公司" if len(group) >= 3 else rng.choice(("有限公司", "有限公司", "股份有限公司"))
        company = names.take(lambda ind=industry, suf=suffix: f"{rng.choice(BRANDS)}{ind}{suf}")
        kw = dict(subdistrict=street.subdistrict, **new_kw)
        if len(group) == 1:
            street.children.append(branch(f"{company}党支部", group[0][0], group[0][1], unit=company, **kw))
            continue
        big = len(group) >= 3 and sum(s for _, s in group) >= 100
        kind = OrgKind.PRIMARY_COMMITTEE if big else OrgKind.GENERAL_BRANCH
        parent = OrgSpec(name=names.take(lambda c=company, k=kind: f"{c}{_committee_suffix(k)}"), kind=kind, **kw)
        parent.children = [branch(f"{company}第{cn_number(k)}党支部", p, s, unit=company, **kw)
                           for k, (p, s) in enumerate(group, 1)]
        street.children.append(parent)

    for i, s in enumerate(sizes["social"]):
        street = streets[(i * 5 + 1) % len(streets)]
        org_name = names.take(lambda st=street: rng.choice((rng.choice(BRANDS), st.subdistrict[:-2])) + rng.choice(SOCIAL_KINDS))
        street.children.append(branch(f"{org_name}党支部", "social", s, unit=org_name,
                                      subdistrict=street.subdistrict, **social_kw))

    joint_seen: Counter = Counter()
    for i, s in enumerate(sizes["joint"]):
        street = streets[(i * 3 + 2) % len(streets)]

        kind_ = rng.choice(JOINT_KINDS)
        if kind_ == "楼宇":
            kind_ = rng.choice(BUILDINGS)
        joint_seen[(street.subdistrict, kind_)] += 1
        k = joint_seen[(street.subdistrict, kind_)]
        name = f"{street.subdistrict[:-2]}{kind_}{f'第{cn_number(k)}' if k > 1 else ''}联合党支部"
        street.children.append(branch(name, "joint", s, kind=OrgKind.JOINT_BRANCH, unit="",
                                      subdistrict=street.subdistrict, **new_kw))

    # 区直机关工委: agencies (党支部, 党总支 or 机关党委) and retired cadres' branches.
    organs = OrgSpec(name=f"{district_name}区直机关工委", kind=OrgKind.WORKING_COMMITTEE, has_approval_authority=True,
                     **agency_kw)
    root.children.append(organs)
    agency_sizes = sizes["agency"]
    n_agencies = max(3, min(len(AGENCIES), round(len(agency_sizes) / 1.6)))
    agency_names = rng.sample(AGENCIES, min(n_agencies, len(agency_sizes), len(AGENCIES)))
    per_agency: list[list[int]] = [[] for _ in agency_names]
    for k, s in enumerate(agency_sizes):  # every agency one branch, the rest to the big bureaus
        idx = k if k < len(agency_names) else min(int(rng.paretovariate(1.2)) - 1, len(agency_names) - 1)
        per_agency[idx].append(s)
    for agency, group in zip(agency_names, per_agency, strict=True):
        full = agency.format(d=district_name)
        if len(group) == 1:
            organs.children.append(branch(f"{full}机关党支部", "agency", group[0], unit=full, **agency_kw))
            continue
        kind = OrgKind.PRIMARY_COMMITTEE if len(group) >= 3 and sum(group) >= 100 else OrgKind.GENERAL_BRANCH
        parent = OrgSpec(name=names.take(lambda f=full, k=kind: f"{f}机关{_committee_suffix(k)}"), kind=kind, **agency_kw)
        parent.children = [branch(f"{full}机关第{cn_number(k)}党支部", "agency", s, unit=full, **agency_kw)
                           for k, s in enumerate(group, 1)]
        organs.children.append(parent)
    for k, s in enumerate(sizes["agency_retired"], 1):
        organs.children.append(branch(f"{district_name}区直机关离退休干部第{cn_number(k)}党支部", "agency_retired", s,
                                      unit="", **agency_kw))

    # 区教育局党委 (with approval authority): schools, a vocational college with student branches, retirees.
    education = OrgSpec(name=f"{district_name}教育局党委", kind=OrgKind.PRIMARY_COMMITTEE, has_approval_authority=True,
                        unit_category=UnitCategory.GOVERNMENT_AGENCY, sector=Sector.SCHOOL)
    root.children.append(education)
    teacher_sizes = list(sizes["school"])
    college = f"{district_name}职业技术学院"
    college_org = OrgSpec(name=f"{college}党委", kind=OrgKind.PRIMARY_COMMITTEE, **school_kw)
    college_org.children = [branch(f"{college}教工党支部", "school", teacher_sizes.pop(), unit=college, **school_kw)]
    college_org.children += [branch(f"{college}学生第{cn_number(k)}党支部", "school_student", s, unit=college, **school_kw)
                             for k, s in enumerate(sizes["school_student"], 1)]
    middle = itertools.count(1)

    def school_name() -> str:
        r = rng.random()
        if r < 0.45:
            return f"{district_name}第{cn_number(next(middle))}中学"
        if r < 0.85:
            return f"{district_name}{rng.choice(PLACES)}{rng.choice(('小学', '实验小学', '路小学'))}"
        if r < 0.95:
            return f"{district_name}{rng.choice(PLACES)}幼儿园"
        return f"{district_name}{rng.choice(('实验学校', '特殊教育学校', '教师发展中心', '外国语学校'))}"

    for group in _groups(teacher_sizes, lambda left: 2 if rng.random() < 0.25 and left >= 2 else 1):
        school = names.take(school_name)
        if len(group) == 1:
            education.children.append(branch(f"{school}党支部", "school", group[0], unit=school, **school_kw))
            continue
        parent = OrgSpec(name=names.take(lambda s=school: f"{s}党总支"), kind=OrgKind.GENERAL_BRANCH, **school_kw)
        parent.children = [branch(f"{school}第{cn_number(k)}党支部", "school", s, unit=school, **school_kw)
                           for k, s in enumerate(group, 1)]
        education.children.append(parent)
    education.children.append(college_org)
    for k, s in enumerate(sizes["school_retired"], 1):
        education.children.append(branch(f"{district_name}教育系统离退休教师第{cn_number(k)}党支部", "school_retired", s,
                                         **school_kw))

    # 党小组 inside some large branches.
    for org in list(root.walk()):
        if org.profile and org.size >= 30 and rng.random() < PARTY_GROUP_SHARE:
            org.children = [OrgSpec(name=f"{org.name}第{cn_number(k)}党小组", kind=OrgKind.PARTY_GROUP,
                                    unit_category=org.unit_category, sector=org.sector, subdistrict=org.subdistrict)
                            for k in range(1, rng.randint(2, 3) + 1)]
    return root


def _committee_suffix(kind: str) -> str:
    return "党委" if kind == "primary_committee" else "党总支"


def _round_robin(items: list, n: int) -> list[list]:
    out: list[list] = [[] for _ in range(n)]
    for i, item in enumerate(items):
        out[i % n].append(item)
    return out


# ---------------------------------------------------------------------------------------------------------
# 2. Members
# ---------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class MemberRow:
    branch: OrgSpec
    name: str
    gender: str
    ethnicity: str
    birth_date: dt.date
    id_number: str
    phone: str
    education: str
    occupation: str
    work_unit: str
    post: str
    address: str
    status: str
    joined_on: dt.date
    confirmed_on: dt.date | None
    is_mobile: bool
    is_lost_contact: bool

    def data(self, organization) -> dict:
        """The form data `members.services.member_build` takes."""
        return {
            "organization": organization, "name": self.name, "gender": self.gender, "ethnicity": self.ethnicity,
            "birth_date": self.birth_date, "id_number": self.id_number, "phone": self.phone,
            "education": self.education, "occupation": self.occupation, "work_unit": self.work_unit,
            "post": self.post, "address": self.address, "status": self.status, "joined_on": self.joined_on,
            "confirmed_on": self.confirmed_on, "standing": "normal", "is_mobile": self.is_mobile,
            "is_lost_contact": self.is_lost_contact,
        }


class _People:
    """Draws people. One instance per run keeps ID numbers and phones unique."""

    def __init__(self, rng: random.Random, today: dt.date):
        self.rng = rng
        self.today = today
        self.ids: set[tuple[str, dt.date, int, str]] = set()
        self.phones: set[str] = set()
        self.surname = _weighted(rng, {m[1]: float(m[2]) for m in map(SURNAME_RE.fullmatch, SURNAMES)})
        self.band_of = {occ: _band_picker(rng, w) for occ, w in AGE_BY_OCCUPATION.items()}
        self.young_age = _weighted(rng, YOUNG_AGE_WEIGHTS)
        self.old_age = _weighted(rng, OLD_AGE_WEIGHTS)
        self.student_age = _weighted(rng, STUDENT_AGE_WEIGHTS)
        ethnicity_code = {name: code for code, name in codes.ETHNICITY_CHOICES}
        self.minority = _weighted(rng, {ethnicity_code[n]: w for n, w in MINORITY_WEIGHTS.items()})
        self.college_code = {k: _weighted(rng, v) for k, v in COLLEGE_CODES.items()}
        self.school_code = [(limit, _weighted(rng, table)) for limit, table in SCHOOL_CODES]
        self.join_bucket = _weighted(rng, dict(JOIN_AGE_BUCKETS))
        self.join_bucket_old = _weighted(rng, dict(JOIN_AGE_BUCKETS_OLD))
        self.region = lambda: rng.choice(REGIONS_HOME) if rng.random() < 0.65 else rng.choice(REGIONS_OTHER)
        self.given = {k: (chars, classics.split()) for k, (chars, classics) in GIVEN.items()}
        self.latest_full = add_years(today, -1) - dt.timedelta(days=1)  # joined by then → confirmed by today

    def age(self, occupation: str) -> int:
        if occupation == "student":
            return self.student_age()
        lo, hi = AGE_BANDS[self.band_of[occupation]()]
        if lo == 18:
            return self.young_age()
        if lo == 61:
            return self.old_age()
        return self.rng.randint(lo, hi)

    def birth(self, age: int) -> dt.date:
        latest = add_years(self.today, -age)
        earliest = add_years(self.today, -age - 1) + dt.timedelta(days=1)
        return latest - dt.timedelta(days=self.rng.randint(0, (latest - earliest).days))

    def name(self, gender: str, birth_year: int) -> str:
        rng = self.rng
        era = "old" if birth_year < 1965 else "mid" if birth_year < 1985 else "young"
        chars, classics = self.given[(era, gender)]
        r = rng.random()
        if r < (0.35 if era == "old" else 0.15):
            given = rng.choice(classics)
        elif r < (0.55 if era == "old" else 0.45 if era == "mid" else 0.30):
            given = rng.choice(chars)
        else:
            given = rng.choice(chars) + rng.choice(chars)
        return self.surname() + given

    def id_number(self, birth: dt.date, gender: str) -> str:
        rng = self.rng
        while True:
            key = (self.region(), birth, rng.randint(1, 499), gender)
            if key not in self.ids:
                self.ids.add(key)
                return build_id_number(key[0], birth, key[2], gender)

    def phone(self) -> str:
        rng = self.rng
        while True:
            number = f"{rng.choice(PHONE_PREFIXES)}{rng.randrange(10 ** 8):08d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def education(self, occupation: str, age: int) -> str:
        rng = self.rng
        if occupation == "retired":
            p = COLLEGE_RETIRED[0] if age < 75 else COLLEGE_RETIRED[1]
        else:
            p = COLLEGE_BY_OCCUPATION[occupation]
        if rng.random() < p:
            return self.college_code.get(occupation, self.college_code["*"])()
        for limit, pick in self.school_code:
            if age < limit:
                return pick()
        raise AssertionError("unreachable")

    def joined_on(self, birth: dt.date, probationary: bool) -> dt.date | None:
        """入党日期 on or after the 18th birthday; None when a full member is impossible (too young)."""
        rng = self.rng
        eighteen = add_years(birth, 18)
        if probationary:
            lo = max(eighteen, self.today - dt.timedelta(days=364))
            return lo + dt.timedelta(days=rng.randint(0, (self.today - lo).days))
        latest = self.latest_full
        if eighteen > latest:
            return None
        if birth.year < 1932:  # the oldest members joined young, some before October 1949
            join_age = rng.randint(18, 21)
        else:
            lo, hi = self.join_bucket_old() if birth.year < 1960 else self.join_bucket()
            join_age = rng.randint(lo, hi)
        joined = add_years(birth, join_age) + dt.timedelta(days=rng.randint(0, 364))
        if joined > latest:
            joined = eighteen + dt.timedelta(days=rng.randint(0, (latest - eighteen).days))
        return joined


def _band_picker(rng: random.Random, weights) -> Callable[[], int]:
    idx = list(range(len(weights)))
    cum = list(itertools.accumulate(weights))
    return lambda: rng.choices(idx, cum_weights=cum)[0]


def _probationary_chance(age: int, occupation: str) -> float:
    if occupation == "retired":
        return 0.0005
    if age <= 35:
        return 0.12 if occupation == "student" else 0.062
    return 0.0045


def iter_members(plan: OrgSpec, *, seed: int, today: dt.date) -> Iterator[MemberRow]:
    """Every member of the plan, branch by branch (deterministic for a seed and a reference date)."""
    rng = random.Random(f"{seed}:members")
    people = _People(rng, today)
    female = FEMALE_BY_OCCUPATION
    han, minority = codes.HAN, TARGETS["minority"]
    random_, occupation_of = rng.random, rng.choices
    for org in plan.branches():
        profile = PROFILES[org.profile]
        occ_cum = list(itertools.accumulate(profile.occupations))
        for _ in range(org.size):
            occupation = occupation_of(OCCUPATIONS, cum_weights=occ_cum)[0]
            age = people.age(occupation)
            birth = people.birth(age)
            gender = "female" if random_() < female[occupation] else "male"
            probationary = random_() < _probationary_chance(age, occupation)
            joined = people.joined_on(birth, probationary)
            if joined is None:  # too young to have completed a year of probation
                probationary = True
                joined = people.joined_on(birth, True)
            yield MemberRow(
                branch=org,
                name=people.name(gender, birth.year),
                gender=gender,
                ethnicity=people.minority() if random_() < minority else han,
                birth_date=birth,
                id_number=people.id_number(birth, gender),
                phone=people.phone(),
                education=people.education(occupation, age),
                occupation=occupation,
                work_unit=_work_unit(rng, org, occupation),
                post=_post(rng, org, occupation),
                address=f"{rng.choice(ROADS)}{rng.randint(1, 300)}号{rng.randint(1, 30)}幢"
                        f"{rng.randint(1, 6)}单元{rng.randint(1, 30)}0{rng.randint(1, 4)}室",
                status="probationary" if probationary else "full",
                joined_on=joined,
                confirmed_on=None if probationary else add_years(joined, 1),
                is_mobile=occupation in ("worker", "other") and random_() < 0.06,
                is_lost_contact=occupation != "retired" and random_() < 0.001,
            )


def _work_unit(rng: random.Random, org: OrgSpec, occupation: str) -> str:
    if occupation in ("retired", "farmer"):
        return ""
    if org.unit:
        return org.unit
    if occupation == "other":
        return rng.choice(("个体经营", "灵活就业", "自由职业"))
    return f"{rng.choice(BRANDS)}{rng.choice(INDUSTRIES['enterprise_services'])}有限公司"


def _post(rng: random.Random, org: OrgSpec, occupation: str) -> str:
    if occupation in ("retired", "farmer"):
        return ""
    if occupation == "student":
        return "学生"
    if occupation == "official":
        return rng.choice(AGENCY_POSTS)
    if org.profile == "school" and occupation == "professional":
        return rng.choice(TEACHER_POSTS)
    return rng.choice(ENTERPRISE_POSTS.get(occupation, ENTERPRISE_POSTS["other"]))


# ---------------------------------------------------------------------------------------------------------
# Committee seats (班子成员) with terms: a few ending within 6 months, a few overdue
# ---------------------------------------------------------------------------------------------------------

TERM_OVERDUE_SHARE = 0.03
TERM_ENDING_SHARE = 0.05


def term_years(org: OrgSpec) -> int:
    """基层党委 and community organisations 5 years; 总支 and 支部 3 years (DOMAIN-RULES §6)."""
    from dangjian.orgs.models import OrgKind, UnitCategory

    if org.kind in (OrgKind.PRIMARY_COMMITTEE, OrgKind.WORKING_COMMITTEE) or org.unit_category == UnitCategory.COMMUNITY:
        return 5
    return 3


def plan_terms(plan: OrgSpec, *, seed: int, today: dt.date) -> dict[int, tuple[dt.date, dt.date]]:
    """(term_start, term_end) per organisation with a committee, keyed by id(spec)."""
    from dangjian.orgs.models import OrgKind

    rng = random.Random(f"{seed}:terms")
    orgs = [o for o in plan.walk() if o.kind not in (OrgKind.DISTRICT_COMMITTEE, OrgKind.PARTY_GROUP)]
    n_overdue = max(1, round(len(orgs) * TERM_OVERDUE_SHARE))
    n_ending = max(1, round(len(orgs) * TERM_ENDING_SHARE))
    picked = rng.sample(range(len(orgs)), n_overdue + n_ending)
    overdue, ending = set(picked[:n_overdue]), set(picked[n_overdue:])
    out = {}
    for i, org in enumerate(orgs):
        years = term_years(org)
        if i in overdue:
            end = today - dt.timedelta(days=rng.randint(5, 200))
        elif i in ending:
            end = today + dt.timedelta(days=rng.randint(10, 175))
        else:
            end = today + dt.timedelta(days=rng.randint(200, years * 365 - 20))
        out[id(org)] = (add_years(end, -years), end)
    return out


# ---------------------------------------------------------------------------------------------------------
# 3. Writing it
# ---------------------------------------------------------------------------------------------------------

DEMO_ACCOUNTS = (  # username, role (None: a member's own account), where the grant is
    ("quwei", "district_admin", "root"),
    ("jiedao", "committee_admin", "street"),
    ("zhibu", "branch_worker", "branch"),
    ("dangyuan", None, "branch"),
    ("xitong", "system_admin", "root"),
    ("anquan", "security_admin", "root"),
    ("shenji", "audit_admin", "root"),
)
DEMO_USERNAMES = tuple(a[0] for a in DEMO_ACCOUNTS)


@dataclass
class DemoLogin:
    username: str
    role_label: str
    organization: str
    password: str


@dataclass
class SeedResult:
    root: Organization
    orgs_by_kind: Counter
    members: int
    probationary: int
    seats: int
    logins: list[DemoLogin]
    seconds: float


@dataclass(slots=True)
class _Candidate:
    pk: int
    name: str
    full: bool
    age: int
    occupation: str


def load_district(*, members: int, seed: int, today: dt.date, district_name: str, password: str | None = None,
                  batch_size: int = 2000, progress: Callable[[str], None] | None = None) -> SeedResult:
    """Write the demo district in one transaction. The caller opens a scope (`system_scope`).

    Organisations, members, their membership periods and committee seats are bulk inserted and summarised
    by one `members.demo.seeded` entry (organisations by kind); role grants go through `role_grant`. With
    `password`, the demo accounts are created too.
    """
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from dangjian.audit.services import log_action
    from dangjian.core.actors import SYSTEM
    from dangjian.core.bulk import bulk_insert, reset_sequences
    from dangjian.members.models import Member, MembershipPeriod
    from dangjian.members.services import member_build
    from dangjian.members.tallies import member_dimensions, tally_apply
    from dangjian.orgs.models import CommitteeMember, Organization, OrgKind
    from dangjian.orgs.org_tally import tally_new_tree

    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    plan = build_plan(members=members, seed=seed, district_name=district_name)
    # Argon2 takes ~0.3 s a password: hash the demo accounts' passwords (one salt each) in a thread while
    # the district is written (the C code releases the GIL).
    hasher = ThreadPoolExecutor(max_workers=1)
    hashes = [hasher.submit(make_password, password) for _ in DEMO_ACCOUNTS] if password is not None else []
    with hasher, transaction.atomic():
        created = _create_organizations(plan)
        tally_new_tree(created.values())  # inserted around organization_create: counted here (orgs.org_tally)
        say(f"已建立 {len(created)} 个党组织")
        sector_of = {o.pk: o.sector for o in created.values()}

        candidates: dict[int, list[_Candidate]] = {}  # up to 16 members per branch, for committee seats
        full_counts: Counter = Counter()
        n_members = n_probationary = 0
        batch: list[tuple[Member, MemberRow]] = []

        def flush() -> None:
            # Explicit ids (core.bulk): this transaction is the only writer of these tables.
            bulk_insert(Member, [m for m, _ in batch], assign_ids=True)
            # The counters of this batch, in the seed's transaction (members.tallies).
            tally_apply((obj.org_path, member_dimensions(obj, sector_of[obj.organization_id]), +1) for obj, _ in batch)
            periods = []
            for obj, row in batch:  # like member_create: the current period starts on joined_on
                periods.append(MembershipPeriod(member_id=obj.pk, organization_id=obj.organization_id,
                                                org_path=obj.org_path, start=obj.joined_on, reason="登记"))
                full_counts[id(row.branch)] += obj.status == "full"
                pool = candidates.setdefault(id(row.branch), [])
                if len(pool) < 16:
                    pool.append(_Candidate(obj.pk, obj.name, obj.status == "full", age_on(obj.birth_date, today),
                                           obj.occupation))
            bulk_insert(MembershipPeriod, periods, assign_ids=True)
            batch.clear()

        for row in iter_members(plan, seed=seed, today=today):
            batch.append((member_build(row.data(created[id(row.branch)])), row))
            n_members += 1
            n_probationary += row.status == "probationary"
            if len(batch) >= batch_size:
                flush()
                say(f"已写入 {n_members}/{members} 名党员")
        if batch:
            flush()

        seats = _committee_seats(plan, created, candidates, full_counts, seed=seed, today=today)
        bulk_insert(CommitteeMember, seats, assign_ids=True)
        say(f"已写入 {len(seats)} 名班子成员")

        reset_sequences([Organization, Member, MembershipPeriod, CommitteeMember])
        logins: list[DemoLogin] = []
        if password is not None:
            logins = _demo_accounts(plan, created, candidates, password, [h.result() for h in hashes])
        orgs_by_kind = Counter(o.kind for o in created.values())
        root = created[id(plan)]
        log_action(actor=SYSTEM, action="members.demo.seeded", target=root, changes={
            "seed": seed, "reference_date": today.isoformat(), "members": n_members,
            "probationary": n_probationary, "committee_seats": len(seats),
            "organizations": {OrgKind(k).label: n for k, n in sorted(orgs_by_kind.items())},
            "accounts": [x.username for x in logins],
        })
    return SeedResult(root=root, orgs_by_kind=orgs_by_kind, members=n_members, probationary=n_probationary,
                      seats=len(seats), logins=logins, seconds=time.perf_counter() - started)



def _create_organizations(plan: OrgSpec) -> dict[int, Organization]:
    """The plan's tree in bulk (core.bulk), with exactly the paths `organization_create` would hand out one
    at a time: the root after the last existing root, each child `parent.path + path_segment(i)` in plan
    order, the parent's `child_seq` = its number of children. One INSERT batch instead of ~38,000 service
    calls (each a locked parent row and an audit entry: on PostgreSQL the 1M city's seed never finished).
    The plan satisfies the placement rules by construction (build_plan); the caller's summary audit entry
    counts the organisations by kind, and the caller adds them to the organisation counters
    (`orgs.org_tally.tally_new_tree`). There are no member counters to keep yet: members come after."""
    from django.db.models import Max

    from dangjian.core.bulk import bulk_insert
    from dangjian.orgs.models import SEGMENT, Organization, name_key, path_segment

    last = Organization.unscoped.filter(depth=1).order_by("-path").values_list("path", flat=True).first()
    root_path = path_segment((int(last, 36) if last else 0) + 1)
    created: dict[int, Organization] = {}
    rows: list[Organization] = []

    def build(spec: OrgSpec, parent_path: str | None, path: str) -> None:
        org = Organization(path=path, depth=len(path) // SEGMENT, name=spec.name.strip(),
                           name_key=name_key(spec.name), kind=spec.kind,
                           unit_category=spec.unit_category, sector=spec.sector, subdistrict=spec.subdistrict.strip(),
                           has_approval_authority=spec.has_approval_authority, child_seq=len(spec.children))
        org._parent_path = parent_path
        created[id(spec)] = org
        rows.append(org)
        for i, child in enumerate(spec.children, start=1):
            build(child, path, path + path_segment(i))

    build(plan, None, root_path)
    # The ids organization_create would have given (one after another in the walk's order), so each row's
    # parent id is known before the insert; bulk_insert(assign_ids=True) numbers from the same max + 1.
    first = (Organization.unscoped.aggregate(m=Max("pk"))["m"] or 0) + 1
    pk_of = {org.path: first + i for i, org in enumerate(rows)}
    for org in rows:
        org.parent_id = pk_of[org._parent_path] if org._parent_path else None
    bulk_insert(Organization, rows, assign_ids=True)
    if rows[0].pk != first:
        raise RuntimeError("组织编号与预先计算的不一致：另有写入者？")
    return created


def _committee_seats(plan: OrgSpec, created: dict, candidates: dict[int, list[_Candidate]], full_counts: Counter,
                     *, seed: int, today: dt.date) -> list:
    """Secretaries, deputies and committee members of every organisation below the root (not 党小组)."""
    from dangjian.orgs.models import CommitteeMember, Employment, OrgKind, Position, UnitCategory

    rng = random.Random(f"{seed}:seats")
    terms = plan_terms(plan, seed=seed, today=today)
    seats = []

    def pool_of(spec: OrgSpec) -> list[_Candidate]:
        out = []
        for b in spec.branches():
            out.extend(candidates.get(id(b), []))
        return out

    def leaders(pool: list[_Candidate]) -> list[_Candidate]:
        """Full members, those of working age first (a retirees' branch elects a retiree)."""
        working, rest = [], []
        for c in pool:
            if c.full:
                (working if c.occupation not in ("retired", "student") and c.age <= 60 else rest).append(c)
        rng.shuffle(working)
        rng.shuffle(rest)
        return working + rest

    for spec in plan.walk():
        if id(spec) not in terms:
            continue
        start, end = terms[id(spec)]
        if spec.profile:
            full = full_counts.get(id(spec), 0)
            if full >= 7:
                positions = [Position.SECRETARY] + ([Position.DEPUTY_SECRETARY] if rng.random() < 0.4 else [])
                positions += [Position.COMMITTEE_MEMBER] * rng.randint(2, 5 - len(positions))
            else:
                positions = [Position.SECRETARY] + ([Position.DEPUTY_SECRETARY] if full >= 4 and rng.random() < 0.3 else [])
        else:
            positions = [Position.SECRETARY, Position.DEPUTY_SECRETARY]
            if spec.kind == OrgKind.WORKING_COMMITTEE:
                positions.append(Position.FULL_TIME_DEPUTY_SECRETARY)
            n_committee = 3 if spec.kind == OrgKind.GENERAL_BRANCH else rng.randint(3, 5)
            positions += [Position.COMMITTEE_MEMBER] * n_committee
        people = leaders(pool_of(spec))
        for position, person in zip(positions, people, strict=False):
            full_time = position == Position.FULL_TIME_DEPUTY_SECRETARY or (
                position == Position.SECRETARY and spec.unit_category == UnitCategory.COMMUNITY)
            seats.append(CommitteeMember(
                organization=created[id(spec)], person_name=person.name, member_id=person.pk, position=position,
                employment=Employment.FULL_TIME if full_time else Employment.PART_TIME,
                term_start=start, term_end=end,
            ))
    return seats


def demo_branch(plan: OrgSpec) -> tuple[OrgSpec, OrgSpec]:
    """The street committee and the community branch the demo accounts work in."""
    from dangjian.orgs.models import OrgKind

    street = next(o for o in plan.children if o.kind == OrgKind.WORKING_COMMITTEE and o.subdistrict)
    branch = next(o for o in street.walk() if o.profile == "community" and o.kind == OrgKind.BRANCH and o.size >= 10)
    return street, branch


def _demo_accounts(plan: OrgSpec, created: dict, candidates: dict[int, list[_Candidate]], password: str,
                   hashes: list[str]) -> list[DemoLogin]:
    """The seven demo accounts (三员分立: each administrator a separate account with one role)."""
    from dangjian.accounts.models import User
    from dangjian.accounts.roles import Role
    from dangjian.accounts.services import role_grant
    from dangjian.core.actors import SYSTEM
    from dangjian.members.models import Member
    from dangjian.orgs.models import CommitteeMember

    street, branch = demo_branch(plan)
    where = {"root": created[id(plan)], "street": created[id(street)], "branch": created[id(branch)]}
    seat_holders = set(CommitteeMember.unscoped.filter(organization=where["branch"]).values_list("member_id", flat=True))
    pool = candidates[id(branch)]
    ordinary = [c for c in pool if c.full and c.pk not in seat_holders and 25 <= c.age <= 65]
    member = (ordinary or [c for c in pool if c.full] or pool)[0]  # an ordinary member of working age
    logins = []
    for (username, role, place), hashed in zip(DEMO_ACCOUNTS, hashes, strict=True):
        org = where[place]
        label = Role(role).label if role else "党员（本人）"
        user = User.objects.create_user(username=username, password=None,
                                        display_name=member.name if role is None else f"演示{label}")
        user.password = hashed  # make_password(password), computed ahead
        user.save(update_fields=["password"])
        if role is None:
            Member.unscoped.filter(pk=member.pk).update(user=user)
            logins.append(DemoLogin(username, label, f"{org.name}·{member.name}", password))
            continue
        role_grant(actor=SYSTEM, user=user, role=role, organization=org)
        logins.append(DemoLogin(username, label, org.name, password))
    return logins
