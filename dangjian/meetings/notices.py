"""Messages this app sends (through the notification service)."""

from dangjian.notifications import kinds

_VARS = {"姓名": "党员姓名", "党组织": "党组织名称", "时间": "会议时间", "地点": "会议地点", "会议": "会议名称"}

MEETING_NOTICE = kinds.register(kinds.Kind(
    code="meetings.notice", label="会议通知",
    title="{{会议}}通知", body="{{姓名}}同志：{{党组织}}定于{{时间}}在{{地点}}召开{{会议}}。",
    variables=_VARS,
))
MEETING_CANCELLED = kinds.register(kinds.Kind(
    code="meetings.cancelled", label="会议取消",
    title="{{会议}}取消", body="{{姓名}}同志：{{党组织}}原定于{{时间}}在{{地点}}召开的{{会议}}已取消。",
    variables=_VARS, urgent=True,  # a cancelled meeting cannot wait for the daily digest
))
MEETING_CHANGED = kinds.register(kinds.Kind(
    code="meetings.changed", label="会议变更",
    title="{{会议}}时间地点变更", body="{{姓名}}同志：{{党组织}}的{{会议}}改于{{时间}}在{{地点}}召开。",
    variables=_VARS, urgent=True,
))
MINUTES_TO_CONFIRM = kinds.register(kinds.Kind(
    code="meetings.confirm", label="会议记录待确认",
    title="请确认{{会议}}记录", body="{{姓名}}同志：{{党组织}}{{会议}}的记录已填写，请于{{截止日期}}前查看并确认。",
    variables={"姓名": "党员姓名", "党组织": "党组织名称", "会议": "会议名称", "截止日期": "确认截止日期"},
))
