from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("users/", views.users, name="users"),
    path("users/<int:user_id>/toggle/", views.user_toggle, name="user_toggle"),
    path("users/<int:user_id>/password/", views.user_password, name="user_password"),
    path("grants/", views.grants, name="grants"),
    path("grants/<int:grant_id>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("tokens/", views.tokens, name="tokens"),
]
