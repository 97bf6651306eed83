"""The forward-only migration classifier: single statements, the corpus of files, and the verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.preflight import Kind, Scope, Verdict, blast_radius, classify_sql, preflight
from cockpit.sources.argocd import parse_application

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "migrations"

A, N, U = Kind.ADDITIVE, Kind.NON_ADDITIVE, Kind.UNKNOWN

# (statement, expected kind, a word the reason must contain)
STATEMENTS = [
    # additive: the previous binary still runs
    ("CREATE TABLE IF NOT EXISTS refunds (id bigint PRIMARY KEY, order_id bigint NOT NULL)", A, "new table"),
    ("CREATE UNLOGGED TABLE cache_entries (k text, v jsonb)", A, "new table"),
    ("CREATE TABLE orders_2026 PARTITION OF orders FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')", A, "partition"),
    ("CREATE INDEX CONCURRENTLY orders_created_idx ON orders (created_at)", A, "concurrently"),
    ("CREATE UNIQUE INDEX orders_ref_idx ON orders (external_ref)", A, "unique index"),
    ("ALTER TABLE orders ADD COLUMN note text", A, "nullable"),
    ("ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text", A, "nullable"),
    ("ALTER TABLE orders ADD COLUMN priority int NOT NULL DEFAULT 0", A, "with a default"),
    ("ALTER TABLE orders ADD COLUMN seq bigserial", A, "nullable"),
    ("ALTER TABLE orders ADD COLUMN seq2 bigserial NOT NULL", A, "with a default"),
    ("ALTER TABLE orders ADD COLUMN oid2 bigint NOT NULL GENERATED ALWAYS AS IDENTITY", A, "with a default"),
    ("ALTER TABLE orders ALTER COLUMN note SET DEFAULT ''", A, "default"),
    ("ALTER TABLE orders ALTER COLUMN note DROP NOT NULL", A, "relaxes"),
    ("ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive", A, "existing rows"),
    ("ALTER TABLE orders SET (fillfactor = 90)", A, "physical"),
    ("CREATE VIEW open_orders AS SELECT * FROM orders WHERE status = 'open'", A, "new view"),
    ("CREATE OR REPLACE VIEW open_orders AS SELECT *, 1 AS v FROM orders", A, "appended"),
    ("CREATE MATERIALIZED VIEW daily_totals AS SELECT 1 AS n", A, "new relation"),
    ("CREATE SEQUENCE invoice_numbers START 1000", A, "sequence"),
    ("CREATE TYPE mood AS ENUM ('ok', 'meh')", A, "enum"),
    ("ALTER TYPE mood ADD VALUE 'great'", A, "adds enum value"),
    ("CREATE EXTENSION IF NOT EXISTS pgcrypto", A, "extension"),
    ("CREATE SCHEMA billing", A, "schema"),
    ("CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql AS 'select a + b'", A, "new function"),
    ("COMMENT ON COLUMN orders.note IS 'free text'", A, "metadata"),
    ("GRANT SELECT ON orders TO reporting", A, "grants"),
    ("INSERT INTO countries VALUES ('FR', 'France')", A, "seed"),
    ("INSERT INTO countries VALUES ('FR', 'France') ON CONFLICT DO NOTHING", A, "seed"),
    ("ALTER INDEX orders_created_idx RENAME TO orders_created_at_idx", A, "never name indexes"),
    ("SET lock_timeout = '5s'", A, "session"),
    ("BEGIN", A, "transaction"),
    ("SELECT 1", A, "reads only"),
    ("VACUUM ANALYZE orders", A, "maintenance"),
    # non-additive: the previous binary breaks, or its data is gone
    ("ALTER TABLE orders DROP COLUMN legacy_status", N, "drops column orders.legacy_status"),
    ("ALTER TABLE orders DROP COLUMN IF EXISTS legacy_status", N, "IF EXISTS"),
    ("DROP TABLE legacy_orders", N, "drops table"),
    ("DROP TABLE IF EXISTS legacy_orders, old_refunds CASCADE", N, "IF EXISTS"),
    ("DROP VIEW open_orders", N, "drops view"),
    ("DROP FUNCTION order_total(bigint)", N, "drops function"),
    ("DROP SCHEMA archive CASCADE", N, "drops schema"),
    ("ALTER TABLE orders RENAME COLUMN total TO total_eur", N, "old name"),
    ("ALTER TABLE orders RENAME TO purchases", N, "renames table"),
    ("ALTER TABLE orders RENAME CONSTRAINT c1 TO c2", N, "renames"),
    ("ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2)", N, "type"),
    ("ALTER TABLE orders ALTER COLUMN total SET DATA TYPE bigint USING total::bigint", N, "type"),
    ("ALTER TABLE orders ALTER COLUMN status SET NOT NULL", N, "NOT NULL"),
    ("ALTER TABLE orders ADD COLUMN region text NOT NULL", N, "without a default"),
    ("ALTER TABLE orders ADD COLUMN tenant_id bigint PRIMARY KEY", N, "without a default"),
    ("ALTER TABLE orders DROP CONSTRAINT orders_status_check", N, "may rely on it"),
    ("ALTER TABLE orders ADD COLUMN note2 text, DROP COLUMN legacy_status", N, "drops column"),
    ("ALTER TABLE orders SET SCHEMA archive", N, "schema"),
    ("ALTER TYPE mood RENAME VALUE 'meh' TO 'fine'", N, "enum value"),
    ("TRUNCATE orders", N, "empties"),
    ("DELETE FROM orders WHERE created_at < now() - interval '7 years'", N, "deletes rows"),
    ("UPDATE orders SET total = total * 100", N, "rewrites"),
    ("INSERT INTO countries VALUES ('FR') ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name", N, "upsert"),
    ("ALTER TABLE orders DETACH PARTITION orders_2019", N, "vanish"),
    # unknown: read it yourself
    ("DO $$ BEGIN PERFORM 1; END $$", U, "DO block"),
    ("CREATE OR REPLACE FUNCTION order_total(bigint) RETURNS numeric LANGUAGE sql AS 'select 0'", U, "may change"),
    ("ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0) NOT VALID", U, "NOT VALID"),
    ("ALTER TABLE orders ADD CONSTRAINT o_fk FOREIGN KEY (customer_id) REFERENCES customers (id)", U, "foreign"),
    ("ALTER TABLE orders ADD CONSTRAINT orders_ref_key UNIQUE (external_ref)", U, "unique"),
    ("ALTER TABLE orders ALTER COLUMN status DROP DEFAULT", U, "NULL"),
    ("DROP INDEX CONCURRENTLY IF EXISTS orders_created_idx", U, "ON CONFLICT"),
    ("CREATE TRIGGER t BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION f()", U, "trigger"),
    ("REVOKE SELECT ON orders FROM app", U, "REVOKE"),
    ("SELECT setval('invoice_numbers', 5000)", U, "functions"),
    ("CALL archive_orders()", U, "procedure"),
    ("ALTER TABLE orders ENABLE ROW LEVEL SECURITY", U, "read it yourself"),
    ("CREATE POLICY tenant_only ON orders USING (tenant_id = current_setting('app.tenant')::bigint)", U, "row-level"),
    ("ALTER SEQUENCE invoice_numbers RESTART WITH 1", U, "sequence"),
    ("CREATE DATABASE scratch", U, "not in the classifier's table"),
]


@pytest.mark.parametrize(("sql", "kind", "word"), STATEMENTS, ids=[sql[:60] for sql, _, _ in STATEMENTS])
def test_single_statement(sql: str, kind: Kind, word: str) -> None:
    verdict = classify_sql(sql + ";\n", "m.sql")
    assert [item.kind for item in verdict.statements] == [kind], verdict
    assert word.lower() in verdict.statements[0].reason.lower()
    assert verdict.statements[0].statement == sql  # trimmed, without the semicolon
    assert verdict.statements[0].line == 1


def test_the_corpus_has_enough_statements() -> None:
    corpus_statements = sum(len(classify_sql(p.read_text("utf-8"), p.name).statements) for p in CORPUS.glob("*.sql"))
    assert len(STATEMENTS) + corpus_statements >= 40


# file -> [(line, kind, first words of the statement)]
FILES = {
    "0001_create_orders.sql": [
        (4, A, "CREATE TABLE orders"),
        (13, A, "CREATE INDEX"),
        (14, A, "COMMENT ON"),
        (15, A, "GRANT"),
    ],
    "0002_add_columns.sql": [
        (2, A, "ALTER TABLE orders ADD COLUMN note"),
        (3, A, "ALTER TABLE orders ADD COLUMN priority"),
        (4, N, "ALTER TABLE orders ADD COLUMN region"),
    ],
    "0003_do_block.sql": [(2, U, "DO $$"), (10, A, "CREATE TABLE audit_log")],
    "0005_expand_backfill.sql": [
        (2, A, "ALTER TABLE"),
        (3, A, "UPDATE orders SET status"),
        (5, N, "UPDATE orders SET legacy_status"),
    ],
    "0006_rename.sql": [(1, N, "ALTER TABLE orders RENAME COLUMN"), (2, N, "ALTER TABLE orders RENAME TO")],
    "0007_alter_type.sql": [
        (1, N, "ALTER TABLE orders ALTER COLUMN total TYPE"),
        (2, N, "ALTER TABLE orders ALTER COLUMN legacy_status SET NOT NULL"),
    ],
    "0008_drop_if_exists.sql": [
        (1, N, "DROP TABLE IF EXISTS"),
        (2, U, "DROP INDEX CONCURRENTLY"),
        (3, N, "ALTER TABLE orders DROP COLUMN IF EXISTS"),
    ],
    "0009_seed_data.sql": [(1, A, "INSERT"), (2, A, "INSERT"), (3, N, "INSERT")],
    "0010_functions.sql": [
        (2, A, "CREATE FUNCTION order_total"),
        (7, U, "CREATE OR REPLACE FUNCTION"),
        (15, U, "CREATE TRIGGER"),
    ],
    "0011_transaction.sql": [
        (1, A, "BEGIN"),
        (2, A, "SET LOCAL"),
        (3, U, "ALTER TABLE"),
        (4, A, "ALTER TABLE"),
        (5, A, "COMMIT"),
    ],
    "0012_unicode.sql": [(2, A, "COMMENT ON COLUMN"), (3, N, "ALTER TABLE orders DROP CONSTRAINT")],
    "0013_only_comments.sql": [],
    "0014_drop_created.sql": [(2, A, "CREATE TABLE"), (3, A, "INSERT"), (4, A, "DROP TABLE orders_scratch")],
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_corpus_file(name: str) -> None:
    verdict = classify_sql((CORPUS / name).read_text("utf-8"), name)
    got = [(item.line, item.kind, item.statement) for item in verdict.statements]
    expected = FILES[name]
    assert [(line, kind) for line, kind, _ in got] == [(line, kind) for line, kind, _ in expected], got
    for (_, _, statement), (_, _, start) in zip(got, expected):
        assert statement.startswith(start)
        assert not statement.startswith(("--", "/*"))  # leading comments are not part of the statement
        assert not statement.endswith(";")
    assert verdict.file == name
    assert verdict.kind == max((kind for _, kind, _ in expected), key=[A, U, N].index, default=A)


def test_comment_inside_function_body_is_not_a_statement() -> None:
    verdict = classify_sql((CORPUS / "0010_functions.sql").read_text("utf-8"), "f.sql")
    assert "DROP TABLE orders" in verdict.statements[0].statement  # inside the body, kept with it
    assert all(item.kind is not N for item in verdict.statements)


def test_syntax_error_is_unknown_with_the_parser_message_and_line() -> None:
    verdict = classify_sql((CORPUS / "0004_syntax_error.sql").read_text("utf-8"), "0004_syntax_error.sql")
    assert verdict.kind is U
    assert 'syntax error at or near "TABEL"' in verdict.error
    [item] = verdict.statements
    assert item.line == 3
    assert item.statement == "CREATE TABEL broken (id int);"
    assert "read it yourself" in item.reason


@pytest.mark.parametrize("text", ["SELECT 'unterminated", "ALTER TABLE;", "\x00DROP TABLE x;", "CREATE TABLE ((("])
def test_garbage_is_never_safe(text: str) -> None:
    verdict = classify_sql(text, "x.sql")
    assert verdict.kind is U
    assert preflight({"x.sql": text}).verdict is Verdict.UNKNOWN


def test_line_numbers_with_multibyte_text_and_several_statements_per_line() -> None:
    text = "-- é日本\nSELECT 'é;日'; SELECT 2;\n\n\n  DROP TABLE t;\n"
    verdict = classify_sql(text, "x.sql")
    assert [(item.line, item.statement) for item in verdict.statements] == [
        (2, "SELECT 'é;日'"),
        (2, "SELECT 2"),
        (5, "DROP TABLE t"),
    ]


def test_preflight_data_first_names_file_line_and_statement() -> None:
    files = {
        "migrations/0041_add_status_column.sql": (CORPUS / "0005_expand_backfill.sql").read_text("utf-8"),
        "migrations/0042_drop_legacy_column.sql": "ALTER TABLE orders DROP COLUMN legacy_status;\n",
    }
    verdict = preflight(files)
    assert verdict.verdict is Verdict.DATA_FIRST
    assert verdict.summary.startswith("DATA rollback first: migrations/0041_add_status_column.sql:5 UPDATE orders")
    assert "+1 more non-additive" in verdict.summary
    assert [item.where for item in verdict.findings] == [
        "migrations/0041_add_status_column.sql:5",
        "migrations/0042_drop_legacy_column.sql:1",
    ]
    only_drop = preflight({"migrations/0042_drop_legacy_column.sql": files["migrations/0042_drop_legacy_column.sql"]})
    assert only_drop.summary.startswith(
        "DATA rollback first: migrations/0042_drop_legacy_column.sql:1 ALTER TABLE orders DROP COLUMN legacy_status"
    )


def test_preflight_backfill_across_files_is_recognised() -> None:
    verdict = preflight(
        {
            "migrations/0002_backfill.sql": "UPDATE orders SET status = legacy_status;",
            "migrations/0001_expand.sql": "ALTER TABLE orders ADD COLUMN status text;",
        }
    )
    assert verdict.verdict is Verdict.SAFE
    assert verdict.statement_count == 2
    assert "all additive" in verdict.summary


def test_preflight_unknown_and_empty() -> None:
    unknown = preflight({"m/1.sql": "CREATE TABLE a (id int);", "m/2.sql": "DO $$ BEGIN END $$;"})
    assert unknown.verdict is Verdict.UNKNOWN
    assert unknown.summary.startswith("read it yourself: m/2.sql:1 DO $$ BEGIN END $$")
    empty = preflight({})
    assert empty.verdict is Verdict.SAFE and "no migration files" in empty.summary
    mixed = preflight({"m/1.sql": "DO $$ BEGIN END $$; DROP TABLE t;"})
    assert mixed.verdict is Verdict.DATA_FIRST
    assert "1 more to read yourself" in mixed.summary


def test_long_statements_are_shortened_for_display() -> None:
    sql = "CREATE TABLE t (" + ", ".join(f"c{i} int" for i in range(100)) + ");"
    [item] = classify_sql(sql, "x.sql").statements
    assert len(item.short) == 160 and item.short.endswith("…")
    assert item.statement == sql[:-1]


def _app(namespace: str, appset: str = "") -> object:
    meta = {"name": "catalog", "namespace": "argocd"}
    if appset:
        meta["ownerReferences"] = [{"kind": "ApplicationSet", "name": appset}]
    return parse_application(
        {
            "metadata": meta,
            "spec": {"destination": {"server": "https://kubernetes.default.svc", "namespace": namespace}},
        }
    )


def test_blast_radius() -> None:
    tenant = blast_radius(_app("bookstore-platform-acme-books"), context="us-east", contexts=("us-east", "eu-west"))
    assert tenant.scope is Scope.TENANT
    assert "bookstore-platform-acme-books" in tenant.detail and "1 other context" in tenant.detail
    assert blast_radius(_app(""), context="us-east").scope is Scope.CLUSTER
    region = blast_radius(_app("", appset="catalog-regions"), context="us-east", contexts=("us-east", "eu-west"))
    assert region.scope is Scope.REGION and region.siblings == "catalog-regions"
    assert blast_radius(None).scope is Scope.UNKNOWN
