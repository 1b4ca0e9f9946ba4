"""Indexes for v2's item sorts and filters: (sort key, id) for names, prices, creation times.

Names are indexed as lower(name) in code point order (`COLLATE "C"` on PostgreSQL; SQLite's
default already is), so one index serves the name sort and a name-prefix range.

Revision ID: 0006
Revises: 0005
Create Date: 2026-01-06 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    on_postgresql = op.get_bind().dialect.name == "postgresql"
    name_key = '(lower(name)) COLLATE "C"' if on_postgresql else "lower(name)"
    op.create_index("ix_items_name_key", "items", [sa.text(name_key), "id"])
    op.create_index("ix_items_price_cents_id", "items", ["price_cents", "id"])
    op.create_index("ix_items_created_at_id", "items", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_items_created_at_id", table_name="items")
    op.drop_index("ix_items_price_cents_id", table_name="items")
    op.drop_index("ix_items_name_key", table_name="items")
