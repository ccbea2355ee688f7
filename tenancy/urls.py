from django.urls import path

from tenancy import views

app_name = "tenancy"
urlpatterns = [
    path("members/", views.members, name="members"),
    path("members/<int:member_id>/remove/", views.member_remove, name="member-remove"),
    path("members/<int:member_id>/password-link/", views.member_password_link, name="member-password-link"),
    path("audit/", views.audit, name="audit"),
    path("general/", views.general, name="general"),
    path("<slug:kind>/", views.keys, name="keys"),
    path("<slug:kind>/<int:key_pk>/revoke/", views.key_revoke, name="key-revoke"),
]
