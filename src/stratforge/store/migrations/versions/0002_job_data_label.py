"""Jobs store a short label of the data they read, so listings need not load specs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("backtests", "optimizations"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("data", sa.String(500), nullable=True))


def downgrade() -> None:
    for table in ("backtests", "optimizations"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("data")
