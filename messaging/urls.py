from django.urls import path

from messaging import views

app_name = "messaging"
urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe_link, name="unsubscribe"),
    path("preferences/<str:token>/", views.preference_page, name="preferences"),
    path("o/<str:token>.gif", views.open_pixel, name="open"),
    path("c/<str:token>/", views.click_redirect, name="click"),
    path("feedback/<int:channel_id>/", views.provider_feedback, name="feedback"),
]
