"""Newer, re-timestamped versions of archived PDFs (long-term validation)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 21:00:00

- archive_timestamp: an archived document's PDF with a fresh document timestamp added
  (``retimestamp-archive``): the new blob, the one it extends, until when it is protected.
  Append-only, like the archive itself (triggers as in 0002).
"""
from alembic import op
import sqlalchemy as sa

from danvan.models.base import UTCDateTime


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

TABLE = "archive_timestamp"


def _sqlite():
    return op.get_bind().dialect.name == "sqlite"


def upgrade():
    op.create_table(TABLE,
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('archived_document_id', sa.Integer(), nullable=False),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
    sa.Column('previous_sha256', sa.String(length=64), nullable=False),
    sa.Column('protected_until', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['archived_document_id'], ['archived_document.id'], name=op.f('fk_archive_timestamp_archived_document_id_archived_document')),
    sa.ForeignKeyConstraint(['pdf_sha256'], ['blob.sha256'], name=op.f('fk_archive_timestamp_pdf_sha256_blob')),
    sa.ForeignKeyConstraint(['previous_sha256'], ['blob.sha256'], name=op.f('fk_archive_timestamp_previous_sha256_blob')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archive_timestamp')),
    sa.UniqueConstraint('pdf_sha256', name=op.f('uq_archive_timestamp_pdf_sha256'))
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_timestamp_archived_document_id'), ['archived_document_id'], unique=False)
    if not _sqlite():
        op.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION danvan_refuse_change()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_{verb.lower()} BEFORE {verb} ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, 'danvan: {TABLE} is append-only'); END"
        )
    op.execute(
        f"CREATE TRIGGER {TABLE}_no_replace BEFORE INSERT ON {TABLE} WHEN "
        f"EXISTS (SELECT 1 FROM {TABLE} WHERE id = NEW.id) OR "
        f"EXISTS (SELECT 1 FROM {TABLE} WHERE pdf_sha256 = NEW.pdf_sha256) "
        f"BEGIN SELECT RAISE(ABORT, 'danvan: {TABLE} is append-only'); END"
    )


def downgrade():
    if _sqlite():
        for verb in ("update", "delete", "replace"):
            op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_{verb}")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}")
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_archive_timestamp_archived_document_id'))
    op.drop_table(TABLE)
