"""What an end-to-end story run needs: the sample repository committed on main, a cassette scripting
the planner (one task), the developer (one diff) and the merge reviewer (approve), and `wave run` of a
story on them as a user types it, offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pygit2

ROOT = Path(__file__).resolve().parents[2]


def scripted_story_cassette(path: Path, diff: str) -> Path:
    plan = {
        "feasible": True, "summary": "add auth_header",
        "tasks": [{"task_id": "auth", "domain": "library", "description": "Add auth_header(token) in textkit/auth.py",
                   "acceptance_criteria": ["auth_header(t) == 'Bearer ' + t"], "files_of_interest": ["textkit/strings.py"]}],
    }
    usage = {"input_tokens": 100, "output_tokens": 50, "model": "claude-sonnet-4-5"}
    cassette = {"version": 1, "interactions": [
        {"role": "planner", "response": {"text": json.dumps(plan), **usage}},
        {"role": "developer", "response": {"text": f"Rationale: adds auth_header.\n```diff\n{diff}```\n", **usage}},
        {"role": "merge_reviewer", "repeat": True,
         "response": {"text": '{"approve": true, "reason": "delivered and tested"}', **usage}},
    ]}
    path.write_text(json.dumps(cassette))  # JSON is YAML
    return path


def sample_repo(path: Path) -> pygit2.Repository:
    return example_repo("sample-repo", path)


def example_repo(example: str, path: Path) -> pygit2.Repository:
    """A copy of `examples/<example>` at `path`, committed on main."""
    shutil.copytree(ROOT / "examples" / example, path)
    repo = pygit2.init_repository(str(path), initial_head="main")
    repo.index.add_all()
    repo.index.write()
    who = pygit2.Signature("dev", "dev@example.com")
    repo.create_commit("HEAD", who, who, "start", repo.index.write_tree(), [])
    return repo


WAVE = [sys.executable, "-m", "wave_cli"]


@dataclass(frozen=True)
class StoryRun:
    """A finished `wave run`: what it printed and how it exited, its WAVE_HOME, the repository it ran on."""

    done: subprocess.CompletedProcess[str]
    home: Path
    repo: pygit2.Repository

    @property
    def output(self) -> str:
        return self.done.stdout + self.done.stderr

    def events(self) -> list[dict]:
        """The run's stored events, as `wave events RUN --json` prints them."""
        run_id = next(line.split()[1] for line in self.done.stdout.splitlines()
                      if line.startswith("run ") and "submitted" in line)
        listed = subprocess.run([*WAVE, "events", run_id, "--json"], capture_output=True, text=True, timeout=60,
                                cwd=self.home.parent, env=offline_environment(self.home))
        return json.loads(listed.stdout)


def offline_environment(home: Path) -> dict[str, str]:
    """This process's environment without WAVE's settings or model keys, with `home` as WAVE_HOME."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("WAVE_", "ANTHROPIC_", "OPENAI_", "XAI_"))}
    environment.update(WAVE_HOME=str(home), COLUMNS="200")
    return environment


def run_story(tmp_path: Path, story: str, diff: str) -> StoryRun:
    """`wave run @story.md` on a fresh copy of the sample repository, the developer answering with `diff`."""
    home = tmp_path / "home"
    repo = sample_repo(tmp_path / "repo")
    cassette = scripted_story_cassette(tmp_path / "cassette.yml", diff)
    story_file = tmp_path / "story.md"
    story_file.write_text(story)
    done = subprocess.run(
        [*WAVE, "run", f"@{story_file}", "--repo", repo.workdir, "--cassette", str(cassette)],
        capture_output=True, text=True, env=offline_environment(home), timeout=300, cwd=tmp_path,
    )
    return StoryRun(done, home, repo)
