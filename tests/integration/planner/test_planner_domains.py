"""The planner plans under the domain table of the target branch (or the operator's), and assigns each
task its domain: the model proposes, the files decide."""

from __future__ import annotations

import pytest
from gitops_repos import commit_files, make_repo
from planner_models import answer, scripted_client
from planner_runs import requested
from wave_events.domains import DEFAULT_TABLE, parse_table
from wave_planner import PlannerService
from wave_runtime import Unrecoverable

DOMAINS = """
[[domain]]
name = "payments"
paths = ["shop/payments/**"]
merge_policy = "human"
allow_threshold = 0.95

[[domain]]
name = "catalogue"
paths = ["shop/catalogue/**"]
"""

PLAN = {
    "feasible": True,
    "summary": "tax and listing",
    "tasks": [
        # Wrong: the files are payments'.
        {"task_id": "tax", "domain": "catalogue", "description": "tax", "acceptance_criteria": ["ok"],
         "files_of_interest": ["shop/payments/tax.py"]},
        # Missing: the files decide.
        {"task_id": "list", "description": "list", "acceptance_criteria": ["ok"], "files_of_interest": ["shop/catalogue/list.py"]},
        # Both domains: payments governs, the stricter.
        {"task_id": "both", "domain": "catalogue", "description": "both", "acceptance_criteria": ["ok"],
         "files_of_interest": ["shop/catalogue/price.py", "shop/payments/price.py"], "depends_on": ["tax"]},
    ],
}


def service(tmp_path) -> PlannerService:
    return PlannerService(scripted_client(tmp_path, answer("planner", PLAN)))


async def test_the_target_branch_table_decides_each_tasks_domain(tmp_path) -> None:
    repo = tmp_path / "shop-repo"
    make_repo(repo, {"app.py": "x\n", ".wave/domains.toml": DOMAINS})
    s = requested(repo=str(repo))
    *_, plan = await service(tmp_path).handle(s.state, s.last.event)
    assert plan.domain_table.names == ("payments", "catalogue")
    assert plan.domain_table.source.startswith(".wave/domains.toml@")
    assert [(t.task_id, t.domain, t.domains, t.depends_on) for t in plan.tasks] == [
        ("tax", "payments", ("payments",), ()),
        ("list", "catalogue", ("catalogue",), ()),
        ("both", "payments", ("catalogue", "payments"), ("tax",)),
    ]
    # The domains are named to the model.
    assert "Domains (the files a task touches decide its domain):\\n- payments: shop/payments/**" in _[0].prompt


async def test_the_table_is_read_at_the_runs_base_commit_not_at_a_later_head(tmp_path) -> None:
    repo = tmp_path / "shop-repo"
    git = make_repo(repo, {"app.py": "x\n", ".wave/domains.toml": DOMAINS})
    base = str(git.head.target)
    # After the run started, a change on the branch loosens the payments domain.
    commit_files(git, {".wave/domains.toml": DOMAINS.replace('merge_policy = "human"', 'merge_policy = "auto"')}, "loosen")
    assert str(git.head.target) != base
    s = requested(repo=str(repo), base_commit=base)
    *_, plan = await service(tmp_path).handle(s.state, s.last.event)
    assert plan.domain_table.source == f".wave/domains.toml@{base[:12]}"
    assert plan.domain_table.get("payments").merge_policy == "human"


async def test_a_base_commit_the_repository_lacks_stops_planning_with_one_line(tmp_path) -> None:
    repo = tmp_path / "shop-repo"
    make_repo(repo, {"app.py": "x\n", ".wave/domains.toml": DOMAINS})
    s = requested(repo=str(repo), base_commit="0123456789" * 4)
    with pytest.raises(Unrecoverable) as stopped:
        await service(tmp_path).handle(s.state, s.last.event)
    assert stopped.value.reason == (
        f"the domain table cannot be used: .wave/domains.toml@012345678901: the run's base commit is not in {repo}"
    )


async def test_a_repository_without_a_table_plans_under_the_six_defaults(tmp_path) -> None:
    repo = tmp_path / "shop-repo"
    make_repo(repo, {"app.py": "x\n"})
    s = requested(repo=str(repo))
    *_, plan = await service(tmp_path).handle(s.state, s.last.event)
    assert plan.domain_table == DEFAULT_TABLE
    assert plan.tasks[0].domain == "payments"  # shop/payments/tax.py matches the default payments globs


async def test_the_operators_table_replaces_the_repositorys(tmp_path) -> None:
    repo = tmp_path / "shop-repo"
    make_repo(repo, {"app.py": "x\n", ".wave/domains.toml": DOMAINS})
    operators = parse_table("[[domain]]\nname = 'everything'\npaths = ['**']\n", "ops.toml")
    s = requested(repo=str(repo), domain_table=operators)
    *_, plan = await service(tmp_path).handle(s.state, s.last.event)
    assert plan.domain_table == operators
    assert {t.domain for t in plan.tasks} == {"everything"}


async def test_a_table_that_cannot_be_used_stops_planning_with_one_line(tmp_path) -> None:
    repo = tmp_path / "shop-repo"
    make_repo(repo, {"app.py": "x\n", ".wave/domains.toml": "[[domain]]\nname = 'x'\nretry_limit = -1\n"})
    s = requested(repo=str(repo))
    with pytest.raises(Unrecoverable) as stopped:
        await service(tmp_path).handle(s.state, s.last.event)
    assert "the domain table cannot be used: .wave/domains.toml@" in stopped.value.reason
    assert "domain 'x': retry_limit: Input should be greater than or equal to 0" in stopped.value.reason
    assert "\n" not in stopped.value.reason
    assert stopped.value.action.startswith("fix .wave/domains.toml on main")
