"""Add via_proxy to llm_usage and tool_usage, and proxied to usage_rollup

Marks provider usage report rows whose API key or project the mapping declares
`via: litellm`, so queries can leave them out where the LiteLLM logs count the same calls.
Existing rows get false, because they were imported before the mapping could declare it,
and so no existing rollup row is proxied.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ('llm_usage', 'tool_usage')


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('via_proxy', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('usage_rollup', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proxied', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('usage_rollup', schema=None) as batch_op:
        batch_op.drop_column('proxied')
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('via_proxy')
