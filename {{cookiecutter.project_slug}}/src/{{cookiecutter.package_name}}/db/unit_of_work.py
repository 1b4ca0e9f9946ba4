"""The unit-of-work port (`items.unit_of_work`) on SQLAlchemy: repositories bound to one session.

`Sessions` opens the session and owns its transaction; these only hand out what is bound to it.
Each is one small object per use case: the repositories it holds were built per use case before.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

{% if cookiecutter.messaging != "none" -%}
from {{ cookiecutter.package_name }}.events.outbox import Outbox
{% endif -%}
from {{ cookiecutter.package_name }}.items.repository import ItemRepository


class SqlReadUnit:
    """The repositories on a session that is never committed (`Sessions.read`)."""

    __slots__ = ("items",)

    def __init__(self, session: AsyncSession) -> None:
        self.items = ItemRepository(session)


class SqlUnitOfWork(SqlReadUnit):
    """The repositories (and the outbox, with events) on one transaction (`Sessions.write`)."""

    __slots__ = ({{ '"outbox",' if cookiecutter.messaging != "none" }})

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
{%- if cookiecutter.messaging != "none" %}
        self.outbox = Outbox(session)
{%- endif %}
