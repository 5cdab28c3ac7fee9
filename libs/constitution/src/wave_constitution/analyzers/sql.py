"""SQL statements, parsed with sqlglot: destructive and privilege-changing statements, statement by statement."""

from __future__ import annotations

import logging
import time

import sqlglot
from sqlglot import exp

from ..rules import Finding

# sqlglot logs a warning for every statement it keeps as opaque text; the finding already says so.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

_STATEMENTS: tuple[type[exp.Expression], ...] = (
    exp.Query,
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.TruncateTable,
    exp.Grant,
    exp.Revoke,
    exp.Merge,
    exp.Command,
    exp.Copy,
    exp.Set,
    exp.Use,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Describe,
    exp.Show,
    exp.Pragma,
    exp.Analyze,
    exp.Cache,
    exp.Uncache,
    exp.Refresh,
)
_DESTRUCTIVE_DROP_KINDS = frozenset({"TABLE", "DATABASE", "SCHEMA", "TABLESPACE", "USER", "ROLE"})
_OPAQUE_DESTRUCTIVE = {
    "DROP": "sql.drop",
    "TRUNCATE": "sql.truncate",
    "GRANT": "sql.grant",
    "REVOKE": "sql.revoke",
}


# sqlglot parses about 50 000 characters a second on one core: larger text is escalated unread, and the
# walk over parsed statements stops at a deadline (a backstop; the size cap is what bounds the parse).
MAX_SQL_CHARS = 50_000
MAX_SECONDS = 2.0


def analyze_sql(sql: str) -> list[Finding]:
    if len(sql) > MAX_SQL_CHARS:
        return [
            Finding(
                "sql.too_large",
                f"the SQL is {len(sql)} characters; the analyser reads at most {MAX_SQL_CHARS}: too large to analyse",
            )
        ]
    deadline = time.monotonic() + MAX_SECONDS
    try:
        statements = sqlglot.parse(sql)
    except Exception as exc:  # sqlglot raises ParseError and TokenError, and others on odd input
        first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        return [Finding("sql.unparseable", f"could not parse the SQL: {first}")]
    findings: list[Finding] = []
    for statement in statements:
        if time.monotonic() > deadline:
            findings.append(Finding("sql.too_large", f"analysis stopped after {MAX_SECONDS:g} s: too large to analyse"))
            break
        if statement is None:
            continue
        findings.extend(_statement(statement))
    return findings


def _statement(statement: exp.Expression) -> list[Finding]:
    if not isinstance(statement, _STATEMENTS):
        return [Finding("sql.unparseable", f"not a SQL statement: {statement.sql()[:80]}")]
    if isinstance(statement, exp.Command):
        keyword = str(statement.this).upper()
        if keyword in _OPAQUE_DESTRUCTIVE:
            return [
                Finding(
                    _OPAQUE_DESTRUCTIVE[keyword],
                    f"{keyword} statement (kept unparsed): {statement.sql()[:80]}",
                )
            ]
        return [Finding("sql.unrecognised", f"statement not analysed: {statement.sql()[:80]}")]
    findings: list[Finding] = []
    for node in statement.walk():
        findings.extend(_node(node))
    return findings


def _node(node: exp.Expression) -> list[Finding]:
    if isinstance(node, exp.Drop):
        kind = str(node.args.get("kind") or "").upper()
        target = node.this.sql() if node.this else "?"
        if isinstance(node.parent, exp.Alter):
            return [
                Finding(
                    "sql.alter_drop",
                    f"ALTER {_table(node.parent)} DROP {kind or 'element'} {target}".replace("  ", " "),
                )
            ]
        if kind in _DESTRUCTIVE_DROP_KINDS:
            return [Finding("sql.drop", f"DROP {kind} {target}")]
        return [Finding("sql.drop_object", f"DROP {kind or 'object'} {target}")]
    if isinstance(node, exp.DropPartition):
        return [Finding("sql.alter_drop", "ALTER … DROP PARTITION")]
    if isinstance(node, exp.TruncateTable):
        tables = ", ".join(t.sql() for t in node.expressions) or "?"
        return [Finding("sql.truncate", f"TRUNCATE {tables}")]
    if isinstance(node, exp.Delete):
        if _unbounded(node.args.get("where")):
            return [Finding("sql.delete_without_where", f"DELETE FROM {_table(node)} touches every row")]
        return []
    if isinstance(node, exp.Update):
        if _unbounded(node.args.get("where")):
            return [Finding("sql.update_without_where", f"UPDATE {_table(node)} touches every row")]
        return []
    if isinstance(node, exp.Grant):
        return [Finding("sql.grant", f"GRANT on {_securable(node)}")]
    if isinstance(node, exp.Revoke):
        return [Finding("sql.revoke", f"REVOKE on {_securable(node)}")]
    if isinstance(node, exp.Copy):
        files = node.args.get("files") or []
        if files:
            return [
                Finding(
                    "sql.file_access",
                    f"COPY {_table(node)} {'TO' if node.args.get('kind') is False else 'FROM'} {files[0].sql()[:60]}",
                )
            ]
    return []


def _unbounded(where: exp.Expression | None) -> bool:
    """No WHERE, or one that names no column and so holds for every row or none (WHERE 1=1, WHERE true)."""
    if where is None:
        return True
    condition = where.this
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.Boolean) and not condition.this:
        return False
    if isinstance(condition, exp.Or):
        return _unbounded(exp.Where(this=condition.this)) or _unbounded(exp.Where(this=condition.expression))
    return next(condition.find_all(exp.Column, exp.Subquery, exp.Placeholder, exp.Parameter), None) is None


def _table(node: exp.Expression) -> str:
    return node.this.sql() if isinstance(node.this, exp.Expression) else "?"


def _securable(node: exp.Expression) -> str:
    securable = node.args.get("securable")
    return securable.sql() if isinstance(securable, exp.Expression) else "?"
