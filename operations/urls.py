from django.urls import path

from operations import views

app_name = "operations"
urlpatterns = [path("", views.index, name="index"), path("inbox/retry", views.retry_inbox, name="retry_inbox")]
