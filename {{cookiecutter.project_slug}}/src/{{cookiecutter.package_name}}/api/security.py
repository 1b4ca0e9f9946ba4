"""Who may call what: the OAuth2 scheme in the OpenAPI document and the check on each operation.

An operation declares its one scope next to its route (`Route.scope`); `add_version` turns it
into `Security(authorize, scopes=[scope])`, which FastAPI shows per operation in the document
(so Swagger UI can authorize) and runs before the endpoint. Probes and /metrics declare none.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import Depends, Request
from fastapi.openapi.models import OAuthFlowAuthorizationCode, OAuthFlowClientCredentials
from fastapi.openapi.models import OAuthFlows as OAuthFlowsModel
from fastapi.security import OAuth2, SecurityScopes
from starlette.requests import HTTPConnection

from {{ cookiecutter.package_name }}.api.deps import resources_of
from {{ cookiecutter.package_name }}.auth.tokens import PRINCIPAL_KEY, MissingTokenError, Principal

SCHEME_NAME = "oauth2"


class BearerToken(OAuth2):
    """The OAuth2 scheme of the document; reads `Authorization: Bearer`, never raises itself.

    Its flows point at `<issuer>/token` and `<issuer>/authorize` until the lifespan has read the
    provider's discovery document (`point_at`), which happens before the document is built.
    """

    def __init__(self, issuer: str, scopes: Mapping[str, str]) -> None:
        self.scopes = dict(scopes)
        base = issuer.rstrip("/")
        super().__init__(
            flows=flows(f"{base}/token", f"{base}/authorize", self.scopes),
            scheme_name=SCHEME_NAME,
            auto_error=False,
        )

    def point_at(self, metadata: Mapping[str, Any]) -> None:
        """Use the endpoints the provider's discovery document names (none: keep the defaults).

        A provider without an authorization endpoint (machine clients only) offers no
        authorization-code flow, so the document offers none either.
        """
        token_url = metadata.get("token_endpoint")
        if isinstance(token_url, str):
            authorization_url = metadata.get("authorization_endpoint")
            self.model.flows = flows(  # type: ignore[attr-defined]  # OAuth2's model is an OAuth2Model
                token_url,
                authorization_url if isinstance(authorization_url, str) else None,
                self.scopes,
            )

    async def __call__(self, request: HTTPConnection) -> str | None:
        """The bearer token, or None: `authorizer` decides what its absence means."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None


def flows(token_url: str, authorization_url: str | None, scopes: dict[str, str]) -> OAuthFlowsModel:
    """Client credentials for services, authorization code for people in Swagger UI."""
    code = (
        OAuthFlowAuthorizationCode(
            authorizationUrl=authorization_url, tokenUrl=token_url, scopes=scopes
        )
        if authorization_url is not None
        else None
    )
    return OAuthFlowsModel(
        clientCredentials=OAuthFlowClientCredentials(tokenUrl=token_url, scopes=scopes),
        authorizationCode=code,
    )


Authorize = Callable[..., Awaitable[Principal | None]]


def authorizer(scheme: BearerToken) -> Authorize:
    """The dependency each protected operation declares, with its scope, through `Security`.

    With authentication off (ENVIRONMENT=local and no issuer) it lets everything through;
    otherwise a missing or invalid token is a 401 and a missing scope a 403 (api/errors.py).
    """

    async def authorize(
        request: Request,
        required: SecurityScopes,
        # Not `Annotated`: its string annotation would be resolved among the module's globals,
        # where this app's `scheme` is not.
        token: str | None = Depends(scheme),
    ) -> Principal | None:
        verifier = resources_of(request).verifier
        if verifier is None:
            return None
        if token is None:
            raise MissingTokenError("This operation needs a bearer token.")
        principal = await verifier.verify(token)
        request.scope[PRINCIPAL_KEY] = principal
        for scope in required.scopes:
            principal.require(scope)
        return principal

    return authorize
