"""The market-data catalog's index: one row per stored contract month.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "market_contracts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("root", sa.String(16), nullable=False, index=True),
        sa.Column("contract", sa.String(24), nullable=False),
        sa.Column("first", sa.DateTime(), nullable=False),
        sa.Column("last", sa.DateTime(), nullable=False),
        sa.Column("bars", sa.Integer(), nullable=False),
        sa.Column("bar_size", sa.String(32), nullable=False),
        sa.Column("expiry", sa.Date()),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("root", "contract"),
    )


def downgrade() -> None:
    op.drop_table("market_contracts")
