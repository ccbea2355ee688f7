from django.urls import path

from console import views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("signin/", views.SignInView.as_view(), name="login"),
    path("signout/", views.sign_out, name="logout"),
    path("signin/forgot/", views.ForgotPasswordView.as_view(), name="forgot-password"),
    path("signin/forgot/sent/", views.forgot_password_sent, name="forgot-password-sent"),
    path("signin/set-password/<uidb64>/<token>/", views.SetPasswordView.as_view(), name="set-password"),
    path("tenant/", views.tenant_switch, name="tenant-switch"),
    path("<slug:section>/", views.section, name="section"),
]
