from django.urls import path

from identity import views

app_name = "identity"
urlpatterns = [
    path("", views.index, name="index"),
    path("rules/", views.rules, name="rules"),
    path("runs/", views.run_now, name="run"),
    path("runs/panel/", views.runs_panel, name="runs-panel"),
    path("rules/preview/<int:run_id>/", views.preview_panel, name="preview"),
    path("customers/<str:cdp_id>/unmerge/", views.unmerge, name="unmerge"),
    path("blocks/<int:block_id>/unblock/", views.unblock, name="unblock"),
]
