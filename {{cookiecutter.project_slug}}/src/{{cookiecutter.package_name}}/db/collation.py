"""Text compared by code point on every backend: what keyset pages over names need.

PostgreSQL compares text in the database's collation, which depends on the server's locale
and cannot serve a prefix range from a btree index; `COLLATE "C"` compares bytes, which for
UTF-8 is code point order. SQLite's default (BINARY) already is that order and has no "C".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class code_points(FunctionElement[str]):  # noqa: N801 - used like the SQL functions it wraps
    """`expression COLLATE "C"` on PostgreSQL, the expression itself elsewhere."""

    type = String()
    inherit_cache = True
    name = "code_points"


@compiles(code_points)
def _as_is(element: code_points, compiler: SQLCompiler, **kw: Any) -> str:  # noqa: ANN401
    return compiler.process(element.clauses, **kw)


@compiles(code_points, "postgresql")
def _c_collation(element: code_points, compiler: SQLCompiler, **kw: Any) -> str:  # noqa: ANN401
    return f'({compiler.process(element.clauses, **kw)}) COLLATE "C"'
