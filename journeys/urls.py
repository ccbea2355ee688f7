from django.urls import path

from journeys import views

app_name = "journeys"
urlpatterns = [
    path("", views.journey_list, name="list"),
    path("new/", views.journey_new, name="new"),
    path("<int:journey_id>/", views.journey_detail, name="detail"),
    path("<int:journey_id>/edit/", views.journey_edit, name="edit"),
    path("<int:journey_id>/nodes/new/", views.node_edit, name="node_new"),
    path("<int:journey_id>/nodes/<str:node_id>/", views.node_edit, name="node"),
    path("<int:journey_id>/nodes/<str:node_id>/delete/", views.node_delete, name="node_delete"),
    path("<int:journey_id>/publish/", views.journey_publish, name="publish"),
    path("<int:journey_id>/status/", views.journey_status, name="status"),
    path("<int:journey_id>/test-send/", views.journey_test_send, name="test_send"),
    path("<int:journey_id>/simulate/", views.journey_simulate, name="simulate"),
    path("<int:journey_id>/instances/<str:instance_id>/", views.instance_detail, name="instance"),
]
