"""Report drafts: page previews stored in the database (shared by every app server)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10 09:00:00

A deleted empty draft needs no schema change: it is a report in state 'deleted', outside the
one-open-report-per-campaign index, and its history rows stay.
"""
from alembic import op
import sqlalchemy as sa

from danvan.models.base import UTCDateTime


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('draft_preview',
    sa.Column('docx_sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('page_count', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', UTCDateTime(), nullable=False),
    sa.Column('finished_at', UTCDateTime(), nullable=True),
    sa.CheckConstraint("status IN ('rendering', 'done', 'failed')", name=op.f('ck_draft_preview_status')),
    sa.ForeignKeyConstraint(['docx_sha256'], ['blob.sha256'], name=op.f('fk_draft_preview_docx_sha256_blob')),
    sa.PrimaryKeyConstraint('docx_sha256', name=op.f('pk_draft_preview'))
    )
    op.create_table('draft_preview_page',
    sa.Column('docx_sha256', sa.String(length=64), nullable=False),
    sa.Column('page', sa.Integer(), nullable=False),
    sa.Column('png', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['docx_sha256'], ['draft_preview.docx_sha256'], name=op.f('fk_draft_preview_page_docx_sha256_draft_preview'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('docx_sha256', 'page', name=op.f('pk_draft_preview_page'))
    )


def downgrade():
    op.drop_table('draft_preview_page')
    op.drop_table('draft_preview')
