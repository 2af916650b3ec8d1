"""The verification code printed (as a QR code and a short URL) on every signed report

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 23:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('report', sa.Column('verify_code', sa.String(length=16), nullable=True))
    op.create_index('ix_report_verify_code', 'report', ['verify_code'], unique=True)


def downgrade():
    op.drop_index('ix_report_verify_code', table_name='report')
    op.drop_column('report', 'verify_code')
