"""The rollback pre-flight: forward-only migrations, and the blast radius of the bad revision.

A code rollback (``argocd app rollback``, ``rollouts undo``, ``helm rollback``) puts the PREVIOUS binary back
on the pods, but leaves the database exactly as the bad release's migrations left it -- and Argo CD skips
PreSync/PostSync hooks on rollback, so no "down" migration runs either.  The question this module answers for
every statement in the migrations the bad release added is therefore:

    can the previous binary still run against the schema (and rows) after this statement?

* **additive**: yes.  New tables, columns the old code never names, indexes, comments, seed rows.
* **non-additive**: no.  Something the old code reads or writes is gone, renamed, re-typed, newly
  mandatory, or its rows were rewritten.  A code rollback alone leaves a broken service (or worse, an old
  binary writing into a schema it does not understand): DATA rollback first (PITR), then code.
* **unknown**: the parser cannot judge it (``DO`` blocks, functions replaced in place, new constraints whose
  effect depends on what the old code writes, anything not in the table below).  The person reads it.

SQL is parsed with pglast (PostgreSQL's own parser), never matched with regular expressions: comments,
dollar quoting, ``IF EXISTS`` and multi-statement files then need no special cases.  A file that does not
parse is "unknown -- read it yourself", never "safe".

The same file also works out the third pre-flight question, the blast radius (one tenant / one region /
cluster-wide), from the Argo CD application's destination.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from cockpit.models import ArgoApp

MAX_SQL_CHARS = 5_000_000  # a "migration" bigger than this is not something to judge automatically
_SHORT = 160


class Kind(str, Enum):
    """What one statement (or file) does to the previous binary's world."""

    ADDITIVE = "additive"
    NON_ADDITIVE = "non-additive"
    UNKNOWN = "unknown"


_RANK = {Kind.ADDITIVE: 0, Kind.UNKNOWN: 1, Kind.NON_ADDITIVE: 2}


def worst(kinds: Iterable[Kind]) -> Kind:
    """The kind that decides: non-additive beats unknown beats additive."""
    return max(kinds, key=_RANK.__getitem__, default=Kind.ADDITIVE)


class Verdict(str, Enum):
    SAFE = "safe"  # every statement additive (or nothing changed): code rollback alone is fine
    DATA_FIRST = "data_first"  # at least one non-additive statement: DATA rollback first, then code
    UNKNOWN = "unknown"  # something needs a person to read it


@dataclass(frozen=True)
class StatementVerdict:
    """One statement's classification, pointing at where it is."""

    file: str
    line: int  # 1-based line where the statement starts (after leading comments)
    statement: str  # the statement text, trimmed, as written in the file (untrusted)
    kind: Kind
    reason: str

    @property
    def short(self) -> str:
        """The statement on one line, cut for a status line."""
        text = " ".join(self.statement.split())
        return text if len(text) <= _SHORT else text[: _SHORT - 1] + "…"

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class FileVerdict:
    file: str
    kind: Kind
    statements: tuple[StatementVerdict, ...]
    error: str = ""  # the parser's message when the file does not parse


@dataclass(frozen=True)
class PreflightVerdict:
    verdict: Verdict
    findings: tuple[StatementVerdict, ...]  # non-additive first, then unknown; file/line order within each
    summary: str
    files: tuple[FileVerdict, ...] = ()

    @property
    def statement_count(self) -> int:
        return sum(len(item.statements) for item in self.files)


# --------------------------------------------------------------------------- what this change created


@dataclass
class _Created:
    """Objects the migrations under review create themselves.

    Dropping, back-filling or constraining something the same change created cannot hurt the previous
    binary, which has never heard of it (``ADD COLUMN x`` then ``UPDATE t SET x = ...`` is the expand step of
    expand-contract).  Names are schema-qualified as written; a mismatch only makes the verdict stricter.
    """

    relations: set[str] = field(default_factory=set)
    columns: set[tuple[str, str]] = field(default_factory=set)

    def has_column(self, table: str, column: str | None) -> bool:
        return table in self.relations or (table, column or "") in self.columns


def _qualified(rangevar: Any) -> str:
    if rangevar is None:
        return "?"
    parts = [getattr(rangevar, "schemaname", None), getattr(rangevar, "relname", None)]
    return ".".join(part for part in parts if part) or "?"


def _dotted(names: Any) -> str:
    """A name list (tuple of String nodes) as ``schema.name``; ``?`` for shapes that are not names."""
    if isinstance(names, (list, tuple)):
        parts = [getattr(item, "sval", None) for item in names]
        if parts and all(isinstance(part, str) for part in parts):
            return ".".join(parts)
    sval = getattr(names, "sval", None)
    return sval if isinstance(sval, str) else "?"


# --------------------------------------------------------------------------- per statement


def _classify_statement(node: Any, created: _Created) -> tuple[Kind, str]:
    handler = _HANDLERS.get(type(node).__name__)
    if handler is None:
        return Kind.UNKNOWN, f"{type(node).__name__} is not in the classifier's table: read it yourself"
    return handler(node, created)


def _create_table(node: Any, created: _Created) -> tuple[Kind, str]:
    name = _qualified(node.relation)
    created.relations.add(name)
    if getattr(node, "partbound", None) is not None:
        return Kind.ADDITIVE, f"adds partition {name}; rows keep landing in the parent the previous binary uses"
    return Kind.ADDITIVE, f"new table {name}: the previous binary never reads it"


def _create_table_as(node: Any, created: _Created) -> tuple[Kind, str]:
    into = getattr(node, "into", None)
    name = _qualified(getattr(into, "rel", None))
    created.relations.add(name)
    return Kind.ADDITIVE, f"new relation {name} built from a query; existing objects unchanged"


def _create_index(node: Any, created: _Created) -> tuple[Kind, str]:
    # Indexes never change what a query returns.  A UNIQUE index can reject a duplicate the previous binary
    # writes, but then the new binary shares that constraint and the migration itself would fail on existing
    # duplicates; the seed's CI rule treats every new index as safe, and so do we.
    if node.idxname:
        created.relations.add(".".join(p for p in (getattr(node.relation, "schemaname", None), node.idxname) if p))
    how = " concurrently" if node.concurrent else ""
    unique = "unique " if node.unique else ""
    return Kind.ADDITIVE, f"builds a {unique}index on {_qualified(node.relation)}{how}; query results unchanged"


def _create_view(node: Any, created: _Created) -> tuple[Kind, str]:
    name = _qualified(node.view)
    if node.replace:
        # PostgreSQL lets CREATE OR REPLACE VIEW only append columns, never drop or re-type them.
        return Kind.ADDITIVE, f"replaces view {name}; PostgreSQL only allows appended columns, old readers still fit"
    created.relations.add(name)
    return Kind.ADDITIVE, f"new view {name}"


def _create_function(node: Any, created: _Created) -> tuple[Kind, str]:
    what = "procedure" if node.is_procedure else "function"
    name = _dotted(node.funcname)
    if node.replace:
        # Same signature, new body: whether the previous binary still gets what it expects is a question
        # about the body's meaning, which no parser answers.
        return Kind.UNKNOWN, f"CREATE OR REPLACE {what} {name} may change a {what} the previous binary calls"
    return Kind.ADDITIVE, f"new {what} {name}"


def _additive(what: str):
    def handler(node: Any, created: _Created) -> tuple[Kind, str]:
        return Kind.ADDITIVE, what

    return handler


def _unknown(what: str):
    def handler(node: Any, created: _Created) -> tuple[Kind, str]:
        return Kind.UNKNOWN, what

    return handler


def _grant(node: Any, created: _Created) -> tuple[Kind, str]:
    if node.is_grant:
        return Kind.ADDITIVE, "grants only widen access"
    return Kind.UNKNOWN, "REVOKE may take away access the previous binary needs"


def _insert(node: Any, created: _Created) -> tuple[Kind, str]:
    table = _qualified(node.relation)
    conflict = getattr(node, "onConflictClause", None)
    if conflict is not None and getattr(conflict.action, "name", "") == "ONCONFLICT_UPDATE":
        if table in created.relations:
            return Kind.ADDITIVE, f"upserts into {table}, which this change created"
        return Kind.NON_ADDITIVE, f"upsert rewrites existing rows of {table}; a code rollback keeps the new values"
    return Kind.ADDITIVE, f"adds rows to {table} (seed data); existing rows untouched"


def _update(node: Any, created: _Created) -> tuple[Kind, str]:
    table = _qualified(node.relation)
    columns = [target.name for target in node.targetList or () if getattr(target, "name", None)]
    if table in created.relations or (columns and all(created.has_column(table, col) for col in columns)):
        filled = f"{table}.{', '.join(columns)}" if columns else table
        return Kind.ADDITIVE, f"back-fills {filled} added by this change; the previous binary never reads it"
    return Kind.NON_ADDITIVE, f"rewrites existing rows of {table}; a code rollback leaves the rewritten values behind"


def _delete(node: Any, created: _Created) -> tuple[Kind, str]:
    table = _qualified(node.relation)
    if table in created.relations:
        return Kind.ADDITIVE, f"deletes from {table}, which this change created"
    return Kind.NON_ADDITIVE, f"deletes rows from {table}; only a data rollback brings them back"


def _truncate(node: Any, created: _Created) -> tuple[Kind, str]:
    tables = ", ".join(_qualified(rel) for rel in node.relations or ())
    return Kind.NON_ADDITIVE, f"empties {tables}; only a data rollback brings the rows back"


# DROP of these takes away something the previous binary may select from, insert into or call.
_DROP_BREAKS = {
    "OBJECT_TABLE": "table",
    "OBJECT_VIEW": "view",
    "OBJECT_MATVIEW": "materialized view",
    "OBJECT_SEQUENCE": "sequence",
    "OBJECT_TYPE": "type",
    "OBJECT_DOMAIN": "domain",
    "OBJECT_FUNCTION": "function",
    "OBJECT_PROCEDURE": "procedure",
    "OBJECT_ROUTINE": "routine",
    "OBJECT_AGGREGATE": "aggregate",
    "OBJECT_SCHEMA": "schema",
    "OBJECT_EXTENSION": "extension",
    "OBJECT_FOREIGN_TABLE": "foreign table",
}
# DROP of these leaves every query working but may change behaviour the previous binary relies on.
_DROP_JUDGE = {
    "OBJECT_INDEX": "queries still run (maybe slower), but an ON CONFLICT or uniqueness the previous binary "
    "relies on may have used this index",
    "OBJECT_TRIGGER": "the previous binary may rely on what this trigger did on write",
    "OBJECT_POLICY": "dropping a row-level security policy changes which rows the previous binary sees",
    "OBJECT_RULE": "dropping a rewrite rule changes what the previous binary's statements do",
}


def _drop(node: Any, created: _Created) -> tuple[Kind, str]:
    kind = node.removeType.name
    names = [_dotted(obj) for obj in node.objects or ()]
    shown = ", ".join(names)
    if names and all(name in created.relations for name in names):
        return Kind.ADDITIVE, f"drops {shown}, which this change created"
    if_exists = " (IF EXISTS only silences the error when it is already gone)" if node.missing_ok else ""
    if kind in _DROP_BREAKS:
        what = _DROP_BREAKS[kind]
        return Kind.NON_ADDITIVE, f"drops {what} {shown}; the previous binary still uses it{if_exists}"
    if kind in _DROP_JUDGE:
        return Kind.UNKNOWN, f"drops {kind.removeprefix('OBJECT_').lower()} {shown}: {_DROP_JUDGE[kind]}"
    return Kind.UNKNOWN, f"drops {kind.removeprefix('OBJECT_').lower()} {shown}: read it yourself"


def _rename(node: Any, created: _Created) -> tuple[Kind, str]:
    kind = node.renameType.name
    if kind == "OBJECT_INDEX":
        return Kind.ADDITIVE, f"renames index {_qualified(node.relation)} to {node.newname}; queries never name indexes"
    if kind == "OBJECT_COLUMN":
        table = _qualified(node.relation)
        if created.has_column(table, node.subname):
            return Kind.ADDITIVE, f"renames {table}.{node.subname}, which this change added"
        old = f"{table}.{node.subname}"
    elif node.relation is not None:
        old = _qualified(node.relation) + (f".{node.subname}" if node.subname else "")
        if old in created.relations:
            return Kind.ADDITIVE, f"renames {old}, which this change created"
    else:
        old = node.subname or _dotted(node.object)
    what = kind.removeprefix("OBJECT_").lower().replace("tabconstraint", "constraint")
    return Kind.NON_ADDITIVE, f"renames {what} {old} to {node.newname}; the previous binary still uses the old name"


def _set_schema(node: Any, created: _Created) -> tuple[Kind, str]:
    name = _qualified(node.relation) if node.relation is not None else _dotted(node.object)
    return Kind.NON_ADDITIVE, f"moves {name} to schema {node.newschema}; the previous binary's names stop resolving"


def _alter_enum(node: Any, created: _Created) -> tuple[Kind, str]:
    name = _dotted(node.typeName)
    if node.oldVal:
        reason = f"renames enum value {node.oldVal!r} of {name}; the previous binary writes the old label"
        return Kind.NON_ADDITIVE, reason
    return Kind.ADDITIVE, f"adds enum value {node.newVal!r} to {name}; old values unchanged"


def _alter_sequence(node: Any, created: _Created) -> tuple[Kind, str]:
    options = [getattr(opt, "defname", "") for opt in node.options or ()]
    if options and all(opt == "owned_by" for opt in options):
        return Kind.ADDITIVE, "only sets the sequence's owner column"
    return Kind.UNKNOWN, f"alters sequence {_qualified(node.sequence)} (restart/increment): read it yourself"


def _select(node: Any, created: _Created) -> tuple[Kind, str]:
    if getattr(node, "intoClause", None) is not None:
        name = _qualified(node.intoClause.rel)
        created.relations.add(name)
        return Kind.ADDITIVE, f"SELECT INTO creates new table {name}"
    if _calls_functions(node):
        # setval(), pg_advisory_lock(), a user function: a SELECT that calls something may write.
        return Kind.UNKNOWN, "SELECT calls functions that may write (setval, user functions): read it yourself"
    return Kind.ADDITIVE, "reads only"


def _calls_functions(node: Any) -> bool:
    from pglast import ast
    from pglast.visitors import Visitor

    found = []

    class _Calls(Visitor):
        def visit_FuncCall(self, ancestors: Any, call: ast.FuncCall) -> None:  # noqa: N802 (pglast's naming)
            found.append(call)

    _Calls()(node)
    return bool(found)


# --------------------------------------------------------------------------- ALTER TABLE, one command at a time

_SERIAL_TYPES = {"serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"}
# Physical settings: storage, statistics, tablespace, clustering, logging.  Reads and writes are unchanged.
_PHYSICAL = {
    "AT_SetStatistics",
    "AT_SetOptions",
    "AT_ResetOptions",
    "AT_SetStorage",
    "AT_SetCompression",
    "AT_ClusterOn",
    "AT_DropCluster",
    "AT_SetLogged",
    "AT_SetUnLogged",
    "AT_SetAccessMethod",
    "AT_SetTableSpace",
    "AT_SetRelOptions",
    "AT_ResetRelOptions",
    "AT_ReplaceRelOptions",
    "AT_ReplicaIdentity",
}


def _alter_table(node: Any, created: _Created) -> tuple[Kind, str]:
    table = _qualified(node.relation)
    results = [_alter_table_cmd(cmd, table, created) for cmd in node.cmds or ()]
    if not results:
        return Kind.UNKNOWN, f"ALTER {table} with no commands"
    decided = worst(kind for kind, _ in results)
    reasons = [reason for kind, reason in results if kind is decided]
    return decided, "; ".join(dict.fromkeys(reasons))


def _alter_table_cmd(cmd: Any, table: str, created: _Created) -> tuple[Kind, str]:
    subtype = cmd.subtype.name
    column = f"{table}.{cmd.name}" if cmd.name else table
    if table in created.relations:
        return Kind.ADDITIVE, f"alters {table}, which this change created"
    if subtype == "AT_AddColumn":
        return _add_column(cmd.def_, table, created)
    if subtype in ("AT_DropColumn", "AT_AlterColumnType", "AT_SetNotNull") and created.has_column(table, cmd.name):
        return Kind.ADDITIVE, f"changes {column}, which this change added"
    if subtype == "AT_DropColumn":
        if_exists = " (IF EXISTS only silences the error when it is already gone)" if cmd.missing_ok else ""
        return Kind.NON_ADDITIVE, f"drops column {column}; the previous binary still reads and writes it{if_exists}"
    if subtype == "AT_AlterColumnType":
        reason = f"changes the type of {column}; the previous binary's reads and writes may no longer fit"
        return Kind.NON_ADDITIVE, reason
    if subtype == "AT_SetNotNull":
        return Kind.NON_ADDITIVE, f"makes {column} NOT NULL; the previous binary's INSERTs that leave it out now fail"
    if subtype == "AT_DropNotNull":
        return Kind.ADDITIVE, f"allows NULL in {column}; only relaxes a rule"
    if subtype == "AT_ColumnDefault":
        if cmd.def_ is None:
            # Harmless on a nullable column, fatal on a NOT NULL one the old code never sets; we cannot see which.
            return Kind.UNKNOWN, (
                f"drops the default of {column}: the previous binary's INSERTs that omit it get NULL, "
                "which fails if the column is NOT NULL"
            )
        return Kind.ADDITIVE, f"sets a default on {column}; only fills values an INSERT leaves out"
    if subtype in ("AT_AddConstraint", "AT_AddIndexConstraint"):
        return _add_constraint(cmd.def_, table)
    if subtype == "AT_ValidateConstraint":
        return Kind.ADDITIVE, f"validates {cmd.name} on {table}: checks existing rows, accepts the same writes"
    if subtype == "AT_DropConstraint":
        # The rule: the old code may rely on it (an ON CONFLICT target, uniqueness, a cascade), and a
        # code rollback does not bring it back.
        return Kind.NON_ADDITIVE, f"drops constraint {cmd.name} on {table}; the previous binary may rely on it"
    if subtype in _PHYSICAL:
        return Kind.ADDITIVE, f"physical setting on {table}; reads and writes unchanged"
    if subtype in ("AT_AttachPartition", "AT_AddIdentity", "AT_SetIdentity", "AT_DisableRowSecurity"):
        return Kind.ADDITIVE, f"{subtype.removeprefix('AT_')} on {table}; nothing the previous binary uses goes away"
    if subtype in ("AT_DetachPartition", "AT_DetachPartitionFinalize"):
        return Kind.NON_ADDITIVE, f"detaches a partition of {table}: its rows vanish from {table}"
    return Kind.UNKNOWN, f"{subtype.removeprefix('AT_')} on {table}: read it yourself"


def _add_column(coldef: Any, table: str, created: _Created) -> tuple[Kind, str]:
    name = f"{table}.{coldef.colname}"
    created.columns.add((table, coldef.colname or ""))
    types = {constraint.contype.name for constraint in coldef.constraints or ()}
    type_name = _dotted(getattr(coldef.typeName, "names", None)).rsplit(".", 1)[-1].lower()
    not_null = bool(coldef.is_not_null) or bool(types & {"CONSTR_NOTNULL", "CONSTR_PRIMARY"})
    has_default = bool(types & {"CONSTR_DEFAULT", "CONSTR_IDENTITY", "CONSTR_GENERATED"}) or type_name in _SERIAL_TYPES
    if not_null and not has_default:
        return Kind.NON_ADDITIVE, (
            f"adds NOT NULL column {name} without a default: the previous binary's INSERTs do not set it and fail"
        )
    if not_null:
        return Kind.ADDITIVE, f"adds NOT NULL column {name} with a default: the previous binary's INSERTs get it"
    return Kind.ADDITIVE, f"adds nullable column {name}; the previous binary never names it"


def _add_constraint(constraint: Any, table: str) -> tuple[Kind, str]:
    # A new constraint checks every later write, the previous binary's included; NOT VALID only skips the
    # existing rows.  Whether the old code ever writes a value it rejects is a question about the old code.
    contype = getattr(getattr(constraint, "contype", None), "name", "CONSTR_?").removeprefix("CONSTR_").lower()
    name = getattr(constraint, "conname", None) or "(unnamed)"
    not_valid = " NOT VALID (skips existing rows only)" if getattr(constraint, "skip_validation", False) else ""
    return Kind.UNKNOWN, (
        f"adds {contype} constraint {name} on {table}{not_valid}: it also checks the previous binary's writes; "
        "make sure the old code never breaks it"
    )


_HANDLERS = {
    "CreateStmt": _create_table,
    "CreateTableAsStmt": _create_table_as,
    "IndexStmt": _create_index,
    "ViewStmt": _create_view,
    "CreateFunctionStmt": _create_function,
    "CreateSeqStmt": _additive("new sequence"),
    "CreateEnumStmt": _additive("new enum type"),
    "CompositeTypeStmt": _additive("new composite type"),
    "CreateDomainStmt": _additive("new domain"),
    "CreateRangeStmt": _additive("new range type"),
    "DefineStmt": _additive("new type, aggregate or operator"),
    "CreateSchemaStmt": _additive("new schema"),
    "CreateExtensionStmt": _additive("new extension; existing objects unchanged"),
    "CreateStatsStmt": _additive("extended statistics; planner only"),
    "CommentStmt": _additive("comment: metadata only"),
    "GrantStmt": _grant,
    "GrantRoleStmt": _grant,
    "InsertStmt": _insert,
    "UpdateStmt": _update,
    "DeleteStmt": _delete,
    "TruncateStmt": _truncate,
    "MergeStmt": lambda node, created: (Kind.NON_ADDITIVE, f"MERGE rewrites rows of {_qualified(node.relation)}"),
    "DropStmt": _drop,
    "RenameStmt": _rename,
    "AlterObjectSchemaStmt": _set_schema,
    "AlterEnumStmt": _alter_enum,
    "AlterTableStmt": _alter_table,
    "AlterSeqStmt": _alter_sequence,
    "SelectStmt": _select,
    "DoStmt": _unknown("a DO block runs procedural code the parser cannot judge: read it yourself"),
    "CallStmt": _unknown("CALL runs a procedure the parser cannot judge: read it yourself"),
    "CreateTrigStmt": _unknown("a new trigger also fires on the previous binary's writes: read it yourself"),
    "CreatePolicyStmt": _unknown("a row-level security policy changes which rows the previous binary sees"),
    "AlterPolicyStmt": _unknown("a changed row-level security policy changes which rows the previous binary sees"),
    "RuleStmt": _unknown("a rewrite rule changes what the previous binary's statements do"),
    "TransactionStmt": _additive("transaction control; changes nothing by itself"),
    "VariableSetStmt": _additive("session setting; changes nothing stored"),
    "VariableShowStmt": _additive("reads a setting"),
    "LockStmt": _additive("takes a lock; changes nothing stored"),
    "VacuumStmt": _additive("maintenance; schema and rows unchanged"),
    "ClusterStmt": _additive("maintenance; schema and rows unchanged"),
    "ReindexStmt": _additive("maintenance; schema and rows unchanged"),
    "RefreshMatViewStmt": _additive("refreshes a materialized view; its shape is unchanged"),
}


# --------------------------------------------------------------------------- files


def classify_sql(text: str, filename: str) -> FileVerdict:
    """Classify every statement of one migration file (see the module docstring for the rules)."""
    return _classify_file(text, filename, _Created())


def _classify_file(text: str, filename: str, created: _Created) -> FileVerdict:
    from pglast import parser

    if not isinstance(text, str):
        return _unparsable(filename, "not text", "", 1)
    if "\0" in text:  # the C parser would stop reading at the NUL and see fewer statements than there are
        nul = text.index("\0")
        return _unparsable(filename, "contains a NUL byte", _line_at(text, nul), _line_of(text, nul))
    if len(text) > MAX_SQL_CHARS:
        return _unparsable(filename, f"{len(text)} characters: too large to judge here", "", 1)
    try:
        raw_statements = parser.parse_sql(text)
        tokens = parser.scan(text)
    except parser.ParseError as err:
        message, index = _parse_error(err)
        return _unparsable(filename, message, _line_at(text, index), _line_of(text, index))
    except Exception as err:  # noqa: BLE001 -- any parser failure (NUL bytes, encoding) means "read it yourself"
        return _unparsable(filename, f"{type(err).__name__}: {err}", "", 1)

    # Offsets from pglast 8 are character offsets into ``text`` (it converts PostgreSQL's byte offsets).
    starts = [token.start for token in tokens if token.name not in ("SQL_COMMENT", "C_COMMENT")]
    verdicts: list[StatementVerdict] = []
    for raw in raw_statements:
        begin = _first_token_at(starts, raw.stmt_location or 0)
        end = (raw.stmt_location or 0) + raw.stmt_len if raw.stmt_len else len(text)
        statement = text[begin:end].strip()
        kind, reason = _classify_statement(raw.stmt, created)
        verdicts.append(StatementVerdict(filename, _line_of(text, begin), statement, kind, reason))
    return FileVerdict(filename, worst(item.kind for item in verdicts), tuple(verdicts))


def _first_token_at(starts: Sequence[int], location: int) -> int:
    """Where the statement really begins: its first token at or after ``location``, skipping comments."""
    from bisect import bisect_left

    index = bisect_left(starts, location)
    return starts[index] if index < len(starts) else location


def _parse_error(err: Exception) -> tuple[str, int]:
    args = getattr(err, "args", ())
    message = str(args[0]) if args else str(err)
    index = args[1] if len(args) > 1 and isinstance(args[1], int) else 0
    return message, index


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, max(0, min(index, len(text)))) + 1


def _line_at(text: str, index: int) -> str:
    index = max(0, min(index, len(text)))
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    return text[start : end if end != -1 else len(text)].strip()


def _unparsable(filename: str, message: str, statement: str, line: int) -> FileVerdict:
    reason = f"does not parse ({message}): read it yourself"
    item = StatementVerdict(filename, line, statement, Kind.UNKNOWN, reason)
    return FileVerdict(filename, Kind.UNKNOWN, (item,), error=message)


def preflight(changed_files: Mapping[str, str]) -> PreflightVerdict:
    """The verdict over every migration the bad release added or changed (path -> SQL text at the bad revision).

    Files are read in path order, as migration tools apply them, so a column added in ``0041`` and back-filled
    in ``0042`` is recognised as this change's own.
    """
    created = _Created()
    files = tuple(_classify_file(changed_files[path], path, created) for path in sorted(changed_files))
    statements = [item for verdict in files for item in verdict.statements]
    breaking = tuple(item for item in statements if item.kind is Kind.NON_ADDITIVE)
    unclear = tuple(item for item in statements if item.kind is Kind.UNKNOWN)
    findings = breaking + unclear
    if breaking:
        first = breaking[0]
        summary = f"DATA rollback first: {first.where} {first.short} — {first.reason}"
        if len(breaking) > 1:
            summary += f" (+{len(breaking) - 1} more non-additive)"
        if unclear:
            summary += f"; {len(unclear)} more to read yourself"
        return PreflightVerdict(Verdict.DATA_FIRST, findings, summary, files)
    if unclear:
        first = unclear[0]
        summary = f"read it yourself: {first.where} {first.short} — {first.reason}"
        if len(unclear) > 1:
            summary += f" (+{len(unclear) - 1} more)"
        return PreflightVerdict(Verdict.UNKNOWN, findings, summary, files)
    if not files:
        return PreflightVerdict(Verdict.SAFE, (), "no migration files changed: code rollback alone is safe", files)
    summary = (
        f"{len(files)} migration file{'s' if len(files) != 1 else ''}, {len(statements)} statements, "
        "all additive: code rollback alone is safe"
    )
    return PreflightVerdict(Verdict.SAFE, (), summary, files)


# --------------------------------------------------------------------------- blast radius


class Scope(str, Enum):
    TENANT = "one tenant"
    REGION = "one region"
    CLUSTER = "cluster-wide"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class BlastRadius:
    scope: Scope
    namespace: str  # the app's destination namespace ("" when it has none)
    destination: str  # destination server URL or cluster name
    context: str  # the kube context the app was read from ("" when not known)
    detail: str  # the reasoning in words
    siblings: str = ""  # ApplicationSet that may carry the same change to other tenants/regions


def blast_radius(app: ArgoApp | None, *, context: str = "", contexts: Sequence[str] = ()) -> BlastRadius:
    """How far the bad revision reaches: one tenant, one region, or the whole cluster.

    Read from the application's destination: a destination namespace means the app's resources live in one
    tenant namespace.  No namespace means cluster-scoped or multi-namespace resources: the whole cluster,
    which is "one region" when other contexts (regions) are configured and this app is not in them, and
    "cluster-wide" otherwise.  An ApplicationSet-generated app may have siblings carrying the same change to
    other tenants or regions; that is said in ``siblings`` (the scope stays what this app shows).
    """
    if app is None:
        return BlastRadius(Scope.UNKNOWN, "", "", context, "no Argo CD application in view")
    destination = app.dest_server or "(no destination)"
    region = f" in {context}" if context else ""
    others = [name for name in contexts if name != context]
    siblings = app.owner_appset
    if not app.dest_namespace:
        detail = f"{app.name} has no destination namespace: cluster-scoped or multi-namespace resources{region}"
        if others:  # the whole of this cluster, but the other regions' clusters are untouched
            detail += f"; {len(others)} other context{'s' if len(others) != 1 else ''} not touched by this app"
            return BlastRadius(Scope.REGION, "", destination, context, detail, siblings)
        return BlastRadius(Scope.CLUSTER, "", destination, context, detail, siblings)
    detail = f"namespace {app.dest_namespace} on {destination}{region}"
    if others:
        detail += f"; {len(others)} other context{'s' if len(others) != 1 else ''} not touched by this app"
    return BlastRadius(Scope.TENANT, app.dest_namespace, destination, context, detail, siblings)
