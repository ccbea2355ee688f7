from django.urls import path

from messaging import views

app_name = "messaging"
urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe_link, name="unsubscribe"),
]
