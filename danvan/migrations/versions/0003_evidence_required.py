"""Campaign setting: evidence required before an entry is sent for approval

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-09 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    # ALTER TABLE … ADD/DROP COLUMN directly (SQLite ≥ 3.35 has both): a batch copy of
    # "campaign" would have to drop a table other tables' foreign keys point at.
    op.add_column(
        'campaign',
        sa.Column('evidence_required', sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade():
    op.drop_column('campaign', 'evidence_required')
