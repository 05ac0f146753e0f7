"""The messages 党费 sends (registered with the notification service at start-up)."""

from dangjian.notifications import kinds

ARREARS_MEMBER = kinds.register(kinds.Kind(
    code="dues.arrears",
    label="欠交党费提醒",
    title="党费交纳提醒",
    body="{{姓名}}同志：您的党费已交至{{已交至}}，{{情况}}。如有困难，请与{{党组织}}联系。",
    variables={"姓名": "党员姓名", "已交至": "已交至月份，如 2026年8月", "情况": "欠交月数及依据",
               "党组织": "所在党组织名称"},
))

ARREARS_BRANCH = kinds.register(kinds.Kind(
    code="dues.arrears_branch",
    label="支部欠交党费汇总",
    title="{{党组织}}有{{人数}}名党员欠交党费",
    body="{{党组织}}有{{人数}}名党员连续{{月数}}个月以上未交纳党费，其中{{严重人数}}名已达{{警戒月数}}个月以上。"
         "党章第九条：连续6个月不交纳党费的，被认为是自行脱党。请及时了解情况、督促交纳。",
    variables={"党组织": "党支部名称", "人数": "欠交人数", "月数": "第一级提醒月数", "严重人数": "达到第二级提醒的人数",
               "警戒月数": "第二级提醒月数"},
))
