from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/code/", views.login_code, name="login_code"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("security/", views.security, name="security"),
    path("password/", views.password_change, name="password_change"),
    path("consent/", views.consent, name="consent"),
    path("consent/withdraw/", views.consent_withdraw, name="consent_withdraw"),
    path("totp/", views.totp_enrol, name="totp_enrol"),
    path("totp/reset/", views.totp_reset, name="totp_reset"),
    path("users/", views.users, name="users"),
    path("users/<int:user_id>/toggle/", views.user_toggle, name="user_toggle"),
    path("users/<int:user_id>/password/", views.user_password, name="user_password"),
    path("grants/", views.grants, name="grants"),
    path("grants/<int:grant_id>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("tokens/", views.tokens, name="tokens"),
]
