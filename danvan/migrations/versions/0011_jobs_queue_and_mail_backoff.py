"""Background jobs on PostgreSQL, mail retries spaced out, the user list's index

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 15:00:00

- PostgreSQL: the task queue's own tables (huey's PostgresStorage: huey_kv, huey_schedule,
  huey_task, huey_counter), created here by the migration role so that the application's role
  needs no CREATE right and gets its grants like every other table (danvan.dbroles). They are
  not in the models (danvan.jobs.QUEUE_TABLES; env.py leaves them out of autogenerate). On
  SQLite the queue lives in its own file (JOBS_SQLITE_PATH), not in the database.
- outbox_message.next_attempt_at: a message that failed is tried again after a growing delay
  (danvan.mail.retry_delay), not at every sweep.
- user (active, full_name, id): the order of Quản trị › Người dùng.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

QUEUE_DDL = (
    'CREATE TABLE huey_kv (queue text NOT NULL, key text NOT NULL, value bytea NOT NULL, '
    'PRIMARY KEY (queue, key))',
    'CREATE TABLE huey_schedule (id bigserial PRIMARY KEY, queue text NOT NULL, '
    'data bytea NOT NULL, timestamp double precision NOT NULL)',
    'CREATE INDEX huey_schedule_queue_timestamp ON huey_schedule (queue, timestamp)',
    'CREATE TABLE huey_task (id bigserial PRIMARY KEY, queue text NOT NULL, '
    'data bytea NOT NULL, priority double precision NOT NULL DEFAULT 0.0)',
    'CREATE INDEX huey_task_queue_priority_id ON huey_task (queue, priority DESC, id)',
    'CREATE TABLE huey_counter (queue text NOT NULL, key text NOT NULL, '
    'value bigint NOT NULL DEFAULT 0, PRIMARY KEY (queue, key))',
)


def upgrade():
    with op.batch_alter_table('outbox_message') as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(), nullable=True))
    op.create_index('ix_user_active_full_name', 'user', ['active', 'full_name', 'id'])
    if op.get_bind().dialect.name == 'postgresql':
        for statement in QUEUE_DDL:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in ('huey_counter', 'huey_task', 'huey_schedule', 'huey_kv'):
            op.execute(f'DROP TABLE IF EXISTS {table}')
    op.drop_index('ix_user_active_full_name', table_name='user')
    with op.batch_alter_table('outbox_message') as batch_op:
        batch_op.drop_column('next_attempt_at')
