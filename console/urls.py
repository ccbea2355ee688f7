from django.urls import path

from console import views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("signin/", views.SignInView.as_view(), name="login"),
    path("signout/", views.sign_out, name="logout"),
    path("tenant/", views.tenant_switch, name="tenant-switch"),
    path("<slug:section>/", views.section, name="section"),
]
