"""The writing unit of work of a service with events: its outbox shares the unit's transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from {{ cookiecutter.package_name }}.db.unit_of_work import SqlRepositories
from {{ cookiecutter.package_name }}.events.outbox import Outbox
from {{ cookiecutter.package_name }}.idempotency.repository import IdempotencyRepository


class SqlUnitOfWork(SqlRepositories):
    """The repositories, outbox and idempotency keys on one transaction (`Sessions.write`)."""

    __slots__ = ("idempotency", "outbox")

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        self.outbox = Outbox(session)
        self.idempotency = IdempotencyRepository(session)
