"""Messages this app sends (through the notification service)."""

from dangjian.notifications import kinds

_VARS = {"党组织": "预约党组织名称", "基地": "基地名称", "时间": "预约时段", "人数": "预约人数"}

BOOKING_REQUESTED = kinds.register(kinds.Kind(
    code="bases.requested", label="基地预约待审核",
    title="{{基地}}有新的预约待审核", body="{{党组织}}预约{{基地}}{{时间}}，{{人数}}人，请及时审核。",
    variables=_VARS,
))
BOOKING_DECIDED = kinds.register(kinds.Kind(
    code="bases.decided", label="基地预约审核结果",
    title="{{基地}}预约{{结果}}", body="{{党组织}}预约{{基地}}{{时间}}（{{人数}}人）{{结果}}。{{说明}}",
    variables={**_VARS, "结果": "审核结果", "说明": "说明"},
))
OFFER = kinds.register(kinds.Kind(
    code="bases.offer", label="基地候补名额",
    title="{{基地}}候补名额待确认",
    body="{{党组织}}候补的{{基地}}{{时间}}（{{人数}}人）已有名额，请于{{期限}}前确认，逾期将顺延给下一位候补。",
    variables={**_VARS, "期限": "答复期限"},
    urgent=True,  # the offer lapses before the next daily digest would reach anyone
))
