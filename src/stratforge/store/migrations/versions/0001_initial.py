"""Initial schema: datasets, backtests, optimizations, trials.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _job_columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), unique=True),
        sa.Column("body_sha256", sa.String(64)),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("message", sa.String(500)),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("datasets", sa.JSON()),
        sa.Column("result_blob", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("strategy", sa.String(200), nullable=False, index=True),
    ]


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True, index=True),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("first", sa.DateTime()),
        sa.Column("last", sa.DateTime()),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table("backtests", *_job_columns(), sa.Column("metrics", sa.JSON()))
    op.create_table(
        "optimizations",
        *_job_columns(),
        sa.Column("kind", sa.String(16), nullable=False, index=True),
        sa.Column("trials_done", sa.Integer(), nullable=False),
        sa.Column("trials_failed", sa.Integer(), nullable=False),
        sa.Column("trials_total", sa.Integer()),
        sa.Column("best", sa.JSON()),
        sa.Column("summary", sa.JSON()),
    )
    op.create_table(
        "trials",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "optimization_id",
            sa.String(40),
            sa.ForeignKey("optimizations.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("objective", sa.Float()),
        sa.Column("metrics", sa.JSON()),
        sa.Column("error", sa.Text()),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.UniqueConstraint("optimization_id", "number"),
    )


def downgrade() -> None:
    for table in ("trials", "optimizations", "backtests", "datasets"):
        op.drop_table(table)
