from django.urls import path

from segments import views

app_name = "segments"
urlpatterns = [
    path("", views.segment_list, name="list"),
    path("new/", views.segment_new, name="new"),
    path("builder/", views.segment_builder, name="builder"),
    path("preview/", views.segment_preview, name="preview"),
    path("customer/<str:cdp_id>/", views.customer_segments, name="customer"),
    path("<int:segment_id>/", views.segment_detail, name="detail"),
    path("<int:segment_id>/edit/", views.segment_edit, name="edit"),
    path("<int:segment_id>/refresh/", views.segment_refresh, name="refresh"),
    path("<int:segment_id>/delete/", views.segment_delete, name="delete"),
    path("<int:segment_id>/upload/", views.segment_upload, name="upload"),
    path("<int:segment_id>/members.csv", views.segment_members_csv, name="export"),
    path("<int:segment_id>/table/", views.segment_table_export, name="table-export"),
    path("<int:segment_id>/why/<str:cdp_id>/", views.segment_why, name="why"),
]
