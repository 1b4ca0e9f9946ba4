"""Item names are unique regardless of case: a unique index on lower(name) replaces uq_items_name.

Fails on a database that already holds names differing only in case: rename those first.

Revision ID: 0003
Revises: {% if cookiecutter.messaging != "none" %}0002{% else %}0001{% endif %}
Create Date: 2026-01-03 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "{% if cookiecutter.messaging != "none" %}0002{% else %}0001{% endif %}"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite cannot drop a constraint in place: batch mode copies the table without it (before
    # the expression index exists: SQLite's reflection, which the copy uses, cannot read one).
    with op.batch_alter_table("items") as batch:
        batch.drop_constraint("uq_items_name", type_="unique")
    op.create_index("uq_items_name_lower", "items", [sa.text("lower(name)")], unique=True)


def downgrade() -> None:
    op.drop_index("uq_items_name_lower", table_name="items")
    with op.batch_alter_table("items") as batch:
        batch.create_unique_constraint("uq_items_name", ["name"])
