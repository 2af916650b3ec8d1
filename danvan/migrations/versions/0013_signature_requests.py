"""Signers' registered certificates and two-phase signature requests (USB token signing)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 17:00:00

- signer_certificate: a signer's certificate (DER, SHA-256, subject CN, validity), who
  registered it and when, revocation.
- signature_request: one prepared signature of a report waiting for the signer's token: the
  number it took, the prepared PDF and .docx, pyHanko's prepared digest, the signed attributes
  to sign, its state, expiry and version.
"""
from alembic import op
import sqlalchemy as sa

from danvan.models.base import UTCDateTime


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('signer_certificate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('certificate_der', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('subject_cn', sa.String(length=255), nullable=True),
    sa.Column('not_before', UTCDateTime(), nullable=False),
    sa.Column('not_after', UTCDateTime(), nullable=False),
    sa.Column('registered_by_id', sa.Integer(), nullable=True),
    sa.Column('registered_at', UTCDateTime(), nullable=False),
    sa.Column('revoked_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['registered_by_id'], ['user.id'], name=op.f('fk_signer_certificate_registered_by_id_user')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_signer_certificate_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signer_certificate')),
    sa.UniqueConstraint('sha256', name=op.f('uq_signer_certificate_sha256'))
    )
    with op.batch_alter_table('signer_certificate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signer_certificate_user_id'), ['user_id'], unique=False)

    op.create_table('signature_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('signer_id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('report_version', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('number_year', sa.Integer(), nullable=False),
    sa.Column('number_symbol', sa.String(length=40), nullable=False),
    sa.Column('signed_date', sa.Date(), nullable=False),
    sa.Column('signing_moment', UTCDateTime(), nullable=False),
    sa.Column('verify_code', sa.String(length=16), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('prepared_pdf_sha256', sa.String(length=64), nullable=True),
    sa.Column('pdf_state', sa.JSON(), nullable=True),
    sa.Column('pdf_tbs', sa.LargeBinary(), nullable=True),
    sa.Column('docx_sha256', sa.String(length=64), nullable=False),
    sa.Column('docx_tbs', sa.LargeBinary(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('refusal', sa.Text(), nullable=True),
    sa.Column('number_released', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=False),
    sa.Column('completed_at', UTCDateTime(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_signature_request_agency_id_agency')),
    sa.ForeignKeyConstraint(['certificate_id'], ['signer_certificate.id'], name=op.f('fk_signature_request_certificate_id_signer_certificate')),
    sa.ForeignKeyConstraint(['docx_sha256'], ['blob.sha256'], name=op.f('fk_signature_request_docx_sha256_blob')),
    sa.ForeignKeyConstraint(['prepared_pdf_sha256'], ['blob.sha256'], name=op.f('fk_signature_request_prepared_pdf_sha256_blob')),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_signature_request_report_id_report'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['signer_id'], ['user.id'], name=op.f('fk_signature_request_signer_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signature_request'))
    )
    with op.batch_alter_table('signature_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signature_request_report_id'), ['report_id'], unique=False)
        batch_op.create_index('ix_signature_request_state_signer', ['state', 'signer_id'], unique=False)


def downgrade():
    with op.batch_alter_table('signature_request', schema=None) as batch_op:
        batch_op.drop_index('ix_signature_request_state_signer')
        batch_op.drop_index(batch_op.f('ix_signature_request_report_id'))

    op.drop_table('signature_request')
    with op.batch_alter_table('signer_certificate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signer_certificate_user_id'))

    op.drop_table('signer_certificate')
