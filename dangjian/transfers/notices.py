"""The messages 组织关系接转 sends (registered with the notification service at start-up)."""

from dangjian.notifications import kinds

RETURNED = kinds.register(kinds.Kind(
    code="transfers.returned", label="组织关系转接被退回",
    title="您的组织关系转接被退回",
    body="{{姓名}}同志：您转往{{转入党组织}}的组织关系转接已被{{退回方}}退回，原因：{{原因}}。请与{{转出党组织}}联系。",
    variables={"姓名": "党员姓名", "转入党组织": "转入党组织名称", "退回方": "退回的党组织", "原因": "退回原因",
               "转出党组织": "转出党组织名称"},
    urgent=True,  # the member must act (correct and resubmit, or withdraw)
))

PENDING = kinds.register(kinds.Kind(
    code="transfers.pending", label="转接待接收提醒",
    title="{{姓名}}的组织关系转接待接收已{{天数}}天",
    body="{{接收党委}}：{{转出党组织}}{{姓名}}同志的组织关系转接于{{审批日期}}审批转出，至今{{天数}}天未接收。"
         "《党员教育管理工作条例》第二十五条：党组织不得无故拒绝接收。请及时办理。",
    variables={"姓名": "党员姓名", "天数": "待接收天数", "接收党委": "接收党委名称", "转出党组织": "转出党组织名称",
               "审批日期": "转出党委审批日期"},
))

EXPIRING = kinds.register(kinds.Kind(
    code="transfers.expiring", label="介绍信即将到期提醒",
    title="组织关系介绍信将于{{有效期至}}到期",
    body="{{姓名}}同志转往{{转入党组织}}的组织关系介绍信（{{编号}}）将于{{有效期至}}到期，请在有效期内办理接收；"
         "过期需由转出党组织重新开具。",
    variables={"姓名": "党员姓名", "转入党组织": "转入党组织名称", "编号": "介绍信编号", "有效期至": "有效期截止日期"},
))
