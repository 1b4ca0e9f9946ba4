"""Items get a row version: their strong ETag, and what a conditional update compares.

Existing rows start at version 1. SQLite adds a NOT NULL column with a constant default in
place, so the upgrade copies no table; the downgrade does (batch mode), after dropping the
lower(name) index that SQLite's reflection, which the copy uses, cannot read.

Revision ID: 0004
Revises: 0003
Create Date: 2026-01-04 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "items",
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
    )


def downgrade() -> None:
    op.drop_index("uq_items_name_lower", table_name="items")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("version")
    op.create_index("uq_items_name_lower", "items", [sa.text("lower(name)")], unique=True)
