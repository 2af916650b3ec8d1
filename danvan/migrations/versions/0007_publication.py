"""Công khai: Văn phòng publishes approved activities on the campaign's public page

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:00:00

- entry.published_at (NULL: not public) and entry.published_by_id (who published it);
- an index (campaign_id, published_at) for the public list and its Atom feed.
"""
from alembic import op
import sqlalchemy as sa

from danvan.models.base import UTCDateTime


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('published_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_entry_published_by_id_user'), 'user', ['published_by_id'], ['id']
        )
        batch_op.create_index(
            'ix_entry_campaign_id_published_at', ['campaign_id', 'published_at'], unique=False
        )


def downgrade():
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.drop_index('ix_entry_campaign_id_published_at')
        batch_op.drop_constraint(batch_op.f('fk_entry_published_by_id_user'), type_='foreignkey')
        batch_op.drop_column('published_by_id')
        batch_op.drop_column('published_at')
