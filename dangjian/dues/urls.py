from django.urls import path

from . import views

app_name = "dues"
urlpatterns = [
    path("my/", views.my_dues, name="my"),
    path("", views.statistics, name="statistics"),
    path("arrears/", views.arrears, name="arrears"),
    path("reductions/", views.reductions, name="reductions"),
    path("reductions/<int:reduction_id>/", views.reduction_decide, name="reduction_decide"),
    path("orgs/<int:org_id>/", views.roster, name="roster"),
    path("orgs/<int:org_id>/public-notice/", views.public_notice, name="public_notice"),
    path("orgs/<int:org_id>/public-notice.xlsx", views.public_notice_xlsx, name="public_notice_xlsx"),
    path("members/<int:member_id>/", views.member_page, name="member"),
    path("members/<int:member_id>/assess/", views.assess, name="assess"),
    path("members/<int:member_id>/pay/", views.pay, name="pay"),
    path("assessments/<int:assessment_id>/reduction/", views.reduction_request, name="reduction_request"),
]
