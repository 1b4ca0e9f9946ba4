"""The writing unit of work of a service with events: its outbox shares the unit's transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from {{ cookiecutter.package_name }}.db.unit_of_work import SqlReadUnit
from {{ cookiecutter.package_name }}.events.outbox import Outbox


class SqlUnitOfWork(SqlReadUnit):
    """The repositories and the outbox on one transaction (`Sessions.write`)."""

    __slots__ = ("outbox",)

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        self.outbox = Outbox(session)
