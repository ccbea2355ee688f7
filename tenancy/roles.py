"""Roles are ordered: each one can do everything the one below it can."""
from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"
    ADMIN = "admin", "Admin"


_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.ADMIN: 3}


def role_allows(have: str, need: str) -> bool:
    """Does a principal holding `have` satisfy an operation that needs `need`?"""
    return _RANK.get(have, 0) >= _RANK[need]
