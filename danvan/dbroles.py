"""PostgreSQL roles: the application connects as a role that owns nothing.

Migrations run as the owner (``MIGRATION_DATABASE_URL``); at the end of every migration run
the application's role (``DATABASE_APP_ROLE``) gets exactly what the application needs:
SELECT and INSERT on the append-only tables, SELECT/INSERT/UPDATE/DELETE elsewhere, the
sequences, and nothing that lets it change a table's definition or disable its triggers
(only a table's owner can do that).
"""

from __future__ import annotations

import re

from sqlalchemy import text

APPEND_ONLY = (
    "event",
    "archived_document",
    "register_entry",
    "blob",
    "audit_log",
    "archive_timestamp",
)
READ_ONLY = ("alembic_version",)
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_app_role(connection, role: str) -> list[str]:
    """Give ``role`` the application's privileges on every table; return the statements run."""
    if not _ROLE.match(role):
        raise ValueError(f"tên vai trò không hợp lệ: {role!r}")
    tables = [
        name
        for (name,) in connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        )
    ]
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
    ]
    for table in sorted(tables):
        if table in APPEND_ONLY:
            privileges = "SELECT, INSERT"
        elif table in READ_ONLY:
            privileges = "SELECT"
        else:
            privileges = "SELECT, INSERT, UPDATE, DELETE"
        statements.append(f'GRANT {privileges} ON TABLE "{table}" TO {role}')
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    for statement in statements:
        connection.execute(text(statement))
    return statements
