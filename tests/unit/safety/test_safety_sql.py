"""SQL → rules and verdicts, statement by statement."""

import pytest
from wave_constitution import SafetyPolicy, Sql, score

POLICY = SafetyPolicy()


def judged(sql: str) -> tuple[list[str], str]:
    verdict = score(Sql(sql), POLICY)
    return sorted(v.rule for v in verdict.violations), verdict.verdict


@pytest.mark.parametrize(
    ("sql", "rules", "verdict"),
    [
        ("DROP TABLE users", ["sql.drop"], "block"),
        ("drop database prod", ["sql.drop"], "block"),
        ("DROP VIEW v", ["sql.drop_object"], "escalate"),
        ("TRUNCATE TABLE audit", ["sql.truncate"], "block"),
        ("DELETE FROM users", ["sql.delete_without_where"], "block"),
        ("DELETE FROM users WHERE 1=1", ["sql.delete_without_where"], "block"),
        ("DELETE FROM users WHERE (true OR id = 3)", ["sql.delete_without_where"], "block"),
        ("UPDATE users SET admin = true", ["sql.update_without_where"], "block"),
        ("GRANT ALL ON users TO PUBLIC", ["sql.grant"], "escalate"),
        ("REVOKE SELECT ON users FROM bob", ["sql.revoke"], "escalate"),
        ("ALTER TABLE users DROP COLUMN email", ["sql.alter_drop"], "escalate"),
        ("SELECT 1; DROP TABLE x", ["sql.drop"], "block"),
        ("WITH s AS (SELECT 1) DELETE FROM jobs", ["sql.delete_without_where"], "block"),
        ("COPY users TO '/tmp/u.csv'", ["sql.file_access"], "escalate"),
        ("SELEC * FRM t", ["sql.unparseable"], "escalate"),
        ("SELECT * FROM", ["sql.unparseable"], "escalate"),
        ("VACUUM", ["sql.unrecognised"], "escalate"),
        ("SELECT * FROM users WHERE id = 1", [], "allow"),
        ("UPDATE users SET name = 'a' WHERE id = 1", [], "allow"),
        ("DELETE FROM sessions WHERE expires_at < now()", [], "allow"),
        ("CREATE TABLE t (id INT PRIMARY KEY)", [], "allow"),
        ("ALTER TABLE users ADD COLUMN phone TEXT", [], "allow"),
        ("INSERT INTO t (a) VALUES (1)", [], "allow"),
    ],
)
def test_sql_rules(sql: str, rules: list[str], verdict: str) -> None:
    assert judged(sql) == (rules, verdict)


def test_a_parse_failure_says_where() -> None:
    verdict = score(Sql("SELECT * FROM"), POLICY)
    assert "could not parse" in verdict.violations[0].detail
