"""The test project's URLs: the admin and payplane's postback view."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("payplane/", include("payplane.contrib.django.urls")),
]
