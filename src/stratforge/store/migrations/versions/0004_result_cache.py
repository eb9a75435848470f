"""The result cache: content keys of runs and where their results are; backtests say which
job a cached one was served from; job result blobs are indexed (shared-blob lookups).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "result_cache",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("job_id", sa.String(40)),
        sa.Column("result_blob", sa.String(64)),
        sa.Column("trial", sa.JSON()),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )
    with op.batch_alter_table("backtests") as batch:
        batch.add_column(sa.Column("cached_from", sa.String(40), nullable=True))
    for table in ("backtests", "optimizations"):
        op.create_index(f"ix_{table}_result_blob", table, ["result_blob"])


def downgrade() -> None:
    for table in ("backtests", "optimizations"):
        op.drop_index(f"ix_{table}_result_blob", table_name=table)
    with op.batch_alter_table("backtests") as batch:
        batch.drop_column("cached_from")
    op.drop_table("result_cache")
