"""security: the application's least-privileged role, and a hash-chained audit log

- `audit_log.council_id`: whose record each row is about (an auditor reads only theirs).
- `audit_chain`: one link per audit row, `row_hash = sha256(prev_hash || canonical row)`,
  appended under an advisory lock, so the links are strictly ordered. A DEFERRED constraint
  trigger seals a row as its transaction commits when the lock is free; when another
  transaction holds it (it keeps it until its commit is flushed) the row is left for
  `audit_chain_seal_pending()`, which the workers call every few seconds: waiting for the lock
  would serialise every audited commit behind the one before (group commit lost).
  Rows already in the log are sealed here, in id order.
- The application role (`DATABASE_APP_ROLE`, default `frontdoor_app`): created when missing
  (LOGIN; `DATABASE_APP_PASSWORD` when set), granted the rights it needs on every table and
  sequence (and on tables later migrations create), but only INSERT and SELECT on `audit_log`
  and only SELECT on `audit_chain` and `alembic_version`.

Roles belong to the whole server, not to one database: the downgrade revokes this database's
grants but leaves the role itself (other databases on the server may use it).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 17:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.settings import get_settings

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The canonical form of a row that the hash covers; services/audit_chain.py computes the same
# text independently (a verifier must not trust a function the database owner could replace).
_CANONICAL = """
CREATE FUNCTION audit_canonical(a audit_log) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_array(
        a.id, (extract(epoch FROM a.occurred_at) * 1000000)::bigint, a.council_id, a.service,
        a.actor_sub, a.actor_role, a.actor_org, a.action, a.entity_type, a.entity_id,
        a.request_id, a.reason
    )::text
$$
"""
# Invoker's rights: called by the app directly it fails (no INSERT on audit_chain); called by
# the trigger below it runs as the owner.
_APPEND = """
CREATE FUNCTION audit_chain_append(a audit_log) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    prev text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('frontdoor:audit_chain'));
    SELECT row_hash INTO prev FROM audit_chain ORDER BY seq DESC LIMIT 1;
    prev := coalesce(prev, repeat('0', 64));
    INSERT INTO audit_chain (seq, audit_id, prev_hash, row_hash)
    VALUES (
        nextval('audit_chain_seq'), a.id, prev,
        encode(sha256(convert_to(prev || audit_canonical(a), 'UTF8')), 'hex')
    );
END
$$
"""
_SEAL = """
CREATE FUNCTION audit_chain_seal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF pg_try_advisory_xact_lock(hashtext('frontdoor:audit_chain')) THEN
        PERFORM audit_chain_append(NEW);
    END IF;
    RETURN NULL;
END
$$
"""
# Rows whose commit found the lock busy, oldest first. Rows are looked for among the newest
# SEAL_WINDOW ids (an index range, not a scan of the whole log); `frontdoor audit verify`
# reports any row older than that still without a link.
_SEAL_PENDING = """
CREATE FUNCTION audit_chain_seal_pending(max_rows integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    r audit_log;
    n integer := 0;
    low bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('frontdoor:audit_chain')) THEN
        RETURN 0;
    END IF;
    SELECT coalesce(max(audit_id), 0) - 1000000 INTO low FROM audit_chain;
    FOR r IN
        SELECT a.* FROM audit_log a
        WHERE a.id > low
          AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = a.id)
        ORDER BY a.id
        LIMIT max_rows
    LOOP
        PERFORM audit_chain_append(r);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$
"""
_TRIGGER = """
CREATE CONSTRAINT TRIGGER audit_log_chain AFTER INSERT ON audit_log
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_chain_seal()
"""
_BACKFILL = """
DO $$
DECLARE
    r audit_log;
BEGIN
    FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
        PERFORM audit_chain_append(r);
    END LOOP;
END
$$
"""


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("council_id", sa.String(length=64), nullable=True))
    op.create_index("ix_audit_log_council_id", "audit_log", ["council_id", "id"])
    op.execute(sa.schema.CreateSequence(sa.Sequence("audit_chain_seq")))
    op.create_table(
        "audit_chain",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("audit_id", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_chain")),
        sa.UniqueConstraint("audit_id", name=op.f("uq_audit_chain_audit_id")),
    )
    for statement in (_CANONICAL, _APPEND, _SEAL, _SEAL_PENDING, _TRIGGER, _BACKFILL):
        op.execute(statement)
    op.execute("REVOKE EXECUTE ON FUNCTION audit_chain_seal_pending(integer) FROM PUBLIC")
    _grant_app_role()


def downgrade() -> None:
    _revoke_app_role()
    op.execute("DROP TRIGGER audit_log_chain ON audit_log")
    op.execute("DROP FUNCTION audit_chain_seal()")
    op.execute("DROP FUNCTION audit_chain_seal_pending(integer)")
    op.execute("DROP FUNCTION audit_chain_append(audit_log)")
    op.execute("DROP FUNCTION audit_canonical(audit_log)")
    op.drop_table("audit_chain")
    op.execute(sa.schema.DropSequence(sa.Sequence("audit_chain_seq")))
    op.drop_index("ix_audit_log_council_id", table_name="audit_log")
    op.drop_column("audit_log", "council_id")


def _app_role() -> str | None:
    """The application role to grant to, or None (unset, or the migrating role itself)."""
    role = get_settings().database_app_role
    if not role:
        return None
    current = op.get_bind().execute(sa.text("SELECT current_user")).scalar()
    return None if role == current else role


def _execute_formatted(template: str, *args: str) -> None:
    """Run DDL built by PostgreSQL's own format() (%I identifiers, %L literals): DDL takes
    no bind parameters, and quoting by hand is how injection starts."""
    bind = op.get_bind()
    names = ", ".join(f"CAST(:a{i} AS text)" for i in range(len(args)))
    sql = bind.execute(
        sa.text(f"SELECT format(CAST(:template AS text), {names})"),
        {"template": template, **{f"a{i}": a for i, a in enumerate(args)}},
    ).scalar_one()
    bind.exec_driver_sql(sql)


def _ensure_role(role: str) -> None:
    bind = op.get_bind()
    found = bind.execute(
        sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = :r"), {"r": role}
    ).first()
    password = get_settings().database_app_password
    if found is None:
        if password:
            _execute_formatted("CREATE ROLE %I LOGIN PASSWORD %L", role, password)
        else:
            _execute_formatted("CREATE ROLE %I LOGIN", role)
        return
    if found[0]:
        raise RuntimeError(
            f"DATABASE_APP_ROLE {role!r} is a superuser: the application must connect as a "
            "role that cannot edit the audit log (see docs/audit.md)"
        )
    if password:
        _execute_formatted("ALTER ROLE %I LOGIN PASSWORD %L", role, password)


def _grant_app_role() -> None:
    role = _app_role()
    if role is None:
        return
    _ensure_role(role)
    database = op.get_bind().execute(sa.text("SELECT current_database()")).scalar_one()
    _execute_formatted("GRANT CONNECT ON DATABASE %I TO %I", database, role)
    for template in (
        "GRANT USAGE ON SCHEMA public TO %I",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %I",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I",
        # Tables and sequences later migrations create (run by this same owner role).
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO %I",
        # The audit trail: append and read, never change or remove.
        "REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM %I",
        "REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON audit_chain FROM %I",
        "REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM %I",
        "GRANT EXECUTE ON FUNCTION audit_chain_seal_pending(integer) TO %I",
    ):
        _execute_formatted(template, role)


def _revoke_app_role() -> None:
    role = _app_role()
    if role is None:
        return
    exists = (
        op.get_bind()
        .execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        .first()
    )
    if exists is None:
        return
    database = op.get_bind().execute(sa.text("SELECT current_database()")).scalar_one()
    for template in (
        "REVOKE EXECUTE ON FUNCTION audit_chain_seal_pending(integer) FROM %I",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        "REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM %I",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM %I",
        "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I",
        "REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I",
        "REVOKE USAGE ON SCHEMA public FROM %I",
    ):
        _execute_formatted(template, role)
    _execute_formatted("REVOKE CONNECT ON DATABASE %I FROM %I", database, role)
