"""The writing unit of work of a service without events (messaging=none): no outbox."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from {{ cookiecutter.package_name }}.db.unit_of_work import SqlRepositories
from {{ cookiecutter.package_name }}.idempotency.repository import IdempotencyRepository


class SqlUnitOfWork(SqlRepositories):
    """The repositories and the idempotency keys on one transaction (`Sessions.write`)."""

    __slots__ = ("idempotency",)

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        self.idempotency = IdempotencyRepository(session)
