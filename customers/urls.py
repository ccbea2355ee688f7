from django.urls import path

from customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("export.csv", views.customer_list_export, name="export"),
    path("computed-traits/", views.computed_trait_list, name="computed-traits"),
    path("computed-traits/<int:trait_id>/", views.computed_trait_detail, name="computed-trait"),
    path("computed-traits/<int:trait_id>/refresh/", views.computed_trait_refresh, name="computed-trait-refresh"),
    path("computed-traits/<int:trait_id>/delete/", views.computed_trait_delete, name="computed-trait-delete"),
    path("<str:cdp_id>/", views.customer_profile, name="profile"),
    path("<str:cdp_id>/timeline/", views.customer_timeline, name="timeline"),
    path("<str:cdp_id>/traits/", views.trait_set, name="trait-set"),
    path("<str:cdp_id>/traits/unset/", views.trait_unset, name="trait-unset"),
    path("<str:cdp_id>/consent/", views.consent_set, name="consent"),
    path("<str:cdp_id>/suppress/", views.suppression_set, {"action": "suppress"}, name="suppress"),
    path("<str:cdp_id>/unsuppress/", views.suppression_set, {"action": "unsuppress"}, name="unsuppress"),
    path("<str:cdp_id>/erase/", views.customer_erase, name="erase"),
]
