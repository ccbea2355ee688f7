from django.urls import path

from messaging import views

app_name = "messages"
urlpatterns = [
    path("", views.delivery_list, name="deliveries"),
    path("deliveries/<int:delivery_id>/", views.delivery_detail, name="delivery"),
    path("customers/<str:cdp_id>/", views.customer_card, name="customer"),
    path("templates/", views.template_list, name="templates"),
    path("templates/<int:template_id>/", views.template_detail, name="template"),
    path("templates/<int:template_id>/preview/", views.template_preview, name="template-preview"),
    path("templates/<int:template_id>/test/", views.template_test_send, name="template-test"),
    path("topics/", views.topic_list, name="topics"),
    path("rules/", views.sending_rules, name="rules"),
    path("topics/<int:topic_id>/delete/", views.topic_delete, name="topic-delete"),
    path("channels/", views.channel_list, name="channels"),
    path("channels/<int:channel_id>/", views.channel_edit, name="channel"),
    path("channels/<int:channel_id>/test/", views.channel_test_send, name="channel-test"),
    path("mailbox/", views.mailbox, name="mailbox"),
]
