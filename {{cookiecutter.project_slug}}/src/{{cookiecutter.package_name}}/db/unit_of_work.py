"""The unit-of-work port (`items.unit_of_work`) on SQLAlchemy: reads and repositories, bound.

Reads are bound to one connection, the writing unit's repositories to one session.

`Sessions` opens the connection or session and owns its transaction; these only hand out what
is bound to it.
Each is one small object per use case: the repositories it holds were built per use case before.
The writing unit is `SqlUnitOfWork`: db/write_unit.py with events (it adds the outbox),
db/write_unit_none.py without; the post-gen hook keeps the one for the service's answer.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from {{ cookiecutter.package_name }}.items.repository import ItemReader, ItemRepository


class SqlReadUnit:
    """The reads on a connection outside any transaction (`Sessions.read`): no session."""

    __slots__ = ("items",)

    def __init__(self, connection: AsyncConnection) -> None:
        self.items = ItemReader(connection)


class SqlRepositories:
    """The repositories on a session in a transaction: what the writing unit builds on."""

    __slots__ = ("items",)

    def __init__(self, session: AsyncSession) -> None:
        self.items = ItemRepository(session)
