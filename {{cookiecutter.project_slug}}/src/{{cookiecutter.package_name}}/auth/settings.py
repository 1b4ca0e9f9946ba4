"""Which identity provider's tokens the service accepts, and how it checks them."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

# Asymmetric JWS algorithms only (RFC 7518, RFC 8037): a symmetric one (HS*) would let anyone
# holding the public JWKS forge tokens, and `none` signs nothing.
SIGNING_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


class AuthSettings(BaseSettings):
    """OIDC_* settings; with no issuer, authentication is off (ENVIRONMENT=local only)."""

    # The `iss` of the tokens, exactly as the provider writes it; its discovery document at
    # <issuer>/.well-known/openid-configuration names the signing keys (jwks_uri).
    oidc_issuer: str | None = None
    # The `aud` the tokens must carry: this service's resource identifier at the provider.
    oidc_audience: str | None = None
    oidc_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "PS256", "ES256", "EdDSA"])
    # Clock skew tolerated on exp, nbf and iat, between the provider's clocks and ours.
    oidc_leeway_seconds: int = Field(default=30, ge=0, le=300)
    # An unknown `kid` refetches the JWKS at most once per interval: a flood of forged tokens
    # costs the provider one request per interval per pod, not one per token.
    oidc_jwks_refresh_seconds: float = Field(default=30.0, gt=0)
    # Known keys are refetched after this age too, so a key the provider withdrew stops working.
    oidc_jwks_max_age_seconds: float = Field(default=3600.0, gt=0)
    oidc_http_timeout: float = Field(default=3.0, gt=0)
    # /docs and /openapi.json; unset: on, except with ENVIRONMENT=production.
    docs_enabled: bool | None = None

    @field_validator("oidc_issuer")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("OIDC_ISSUER must be an https:// URL")
        return value or None

    @field_validator("oidc_algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        unsafe = sorted(set(value) - SIGNING_ALGORITHMS)
        if unsafe or not value:
            allowed = ", ".join(sorted(SIGNING_ALGORITHMS))
            raise ValueError(f"OIDC_ALGORITHMS may hold only {allowed}; not {unsafe or 'none'}")
        return value

    @property
    def authentication_on(self) -> bool:
        """Whether bearer tokens are checked (an issuer is configured)."""
        return self.oidc_issuer is not None
