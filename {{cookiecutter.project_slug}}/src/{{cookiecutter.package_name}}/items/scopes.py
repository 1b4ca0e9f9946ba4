"""The OAuth2 scopes of the items API: what a caller's token must grant, per operation."""

from __future__ import annotations

READ = "items:read"
WRITE = "items:write"
# Shown in the OpenAPI document and in Swagger UI's authorize dialog.
SCOPES = {READ: "Read items", WRITE: "Create, change and delete items"}
