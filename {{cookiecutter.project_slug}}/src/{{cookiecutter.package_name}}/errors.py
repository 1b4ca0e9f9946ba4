"""Domain errors: raised by services, translated to problem+json by the API layer only."""

from __future__ import annotations


class DomainError(Exception):
    """Base for errors a client can act on."""

    title = "Domain error"


class NotFoundError(DomainError):
    """The requested resource does not exist."""

    title = "Not found"


class ConflictError(DomainError):
    """The request conflicts with the current state (e.g. a duplicate unique key)."""

    title = "Conflict"


class InvalidInputError(DomainError):
    """Input that passed schema validation but breaks a rule (e.g. a forged cursor)."""

    title = "Invalid input"


class IdempotencyKeyReusedError(DomainError):
    """An `Idempotency-Key` already used by this caller for a different request (a 422)."""

    title = "Idempotency key reused"


class RequestInProgressError(ConflictError):
    """The first request with this `Idempotency-Key` is still being processed; retry later."""

    title = "Request in progress"


class PreconditionFailedError(DomainError):
    """The resource is not at the version the request was conditional on (If-Match)."""

    title = "Precondition failed"


class PreconditionRequiredError(DomainError):
    """A change that must name the version it applies to came without one (no If-Match)."""

    title = "Precondition required"
