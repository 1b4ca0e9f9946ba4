"""The writing unit of work of a service without events (messaging=none): no outbox."""

from __future__ import annotations

from {{ cookiecutter.package_name }}.db.unit_of_work import SqlReadUnit


class SqlUnitOfWork(SqlReadUnit):
    """The repositories on one transaction (`Sessions.write`); what it adds is the commit."""

    __slots__ = ()
