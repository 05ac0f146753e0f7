"""The messages 发展党员 sends (registered with the notification service at start-up)."""

from dangjian.notifications import kinds

DUE = kinds.register(kinds.Kind(
    code="recruitment.due", label="发展党员期限提醒",
    title="{{姓名}}：{{事项}}将于{{期限}}到期",
    body="{{党组织}}{{姓名}}（{{阶段}}）的“{{事项}}”应于{{期限}}前由{{办理}}完成（{{依据}}）。",
    variables={"姓名": "发展对象姓名", "事项": "到期事项", "期限": "到期日期", "党组织": "培养党组织",
               "阶段": "当前阶段", "依据": "规定及条款", "办理": "办理的党组织（上级党委的步骤为该党委）"},
))

OVERDUE = kinds.register(kinds.Kind(
    code="recruitment.overdue", label="发展党员超期提醒",
    title="{{姓名}}：{{事项}}已超期",
    body="{{党组织}}{{姓名}}（{{阶段}}）的“{{事项}}”应于{{期限}}前由{{办理}}完成，已超期（{{依据}}）。请尽快办理。",
    variables={"姓名": "发展对象姓名", "事项": "到期事项", "期限": "到期日期", "党组织": "培养党组织",
               "阶段": "当前阶段", "依据": "规定及条款", "办理": "办理的党组织（上级党委的步骤为该党委）"},
    urgent=True,
))

PROGRESS = kinds.register(kinds.Kind(
    code="recruitment.progress", label="入党进程更新",
    title="您的入党进程：{{步骤}}",
    body="{{姓名}}同志：{{党组织}}已于{{日期}}记录“{{步骤}}”。下一步：{{下一步}}。",
    variables={"姓名": "本人姓名", "党组织": "培养党组织", "日期": "记录日期", "步骤": "已完成的步骤",
               "下一步": "下一步骤"},
))
