"""The kinds of message this app sends itself (other apps declare theirs in their own notices.py)."""

from .kinds import Kind, register

POLITICAL_BIRTHDAY = register(Kind(
    code="notifications.political_birthday",
    label="政治生日祝福",
    title="{{姓名}}同志，祝您政治生日快乐",
    body=(
        "{{姓名}}同志：{{入党日期}}，您在党旗下庄严宣誓。今天是您入党{{入党周年}}周年的政治生日，"
        "{{党组织}}向您致以诚挚的祝福！{{寄语}}"
    ),
    variables={
        "姓名": "党员姓名",
        "入党周年": "入党周年数",
        "入党日期": "入党日期，如 2001年7月1日",
        "党组织": "所在党组织名称",
        "寄语": "党组织设置的政治生日寄语",
    },
    replies=True,
))

REPLY_RECEIVED = register(Kind(
    code="notifications.reply_received",
    label="党员留言",
    title="{{姓名}}回复了“{{原消息}}”",
    body="{{姓名}}（{{党组织}}）留言：{{留言}}",
    variables={"姓名": "留言党员姓名", "党组织": "留言党员所在党组织", "原消息": "被回复消息的标题", "留言": "留言内容"},
))

DIGEST = register(Kind(
    code="notifications.digest",
    label="每日消息汇总",
    title="您有{{条数}}条新消息",
    body="{{列表}}",
    variables={"条数": "汇总的消息条数", "列表": "各条消息的标题，每条一行"},
))

TERM_ENDING = register(Kind(
    code="notifications.term_ending",
    label="换届提醒",
    title="{{党组织}}任期{{情况}}",
    body="{{党组织}}本届委员会任期至{{届满日期}}{{情况}}，请按期做好换届准备（{{依据}}）。",
    variables={"党组织": "党组织名称", "届满日期": "任期届满日期", "情况": "即将届满或已经届满", "依据": "条文依据"},
))
