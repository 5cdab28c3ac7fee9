"""The constitution: six principles, and the concrete rules that enforce them.

Rule ids are stable: stored verdicts name them, dashboards group by them, and a new policy version may
change a rule's severity but never what its id means. Severity is the share of confidence a violation
takes away from "clearly safe" (see scoring.combine).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Principle(StrEnum):
    NEVER_DESTROY_WITHOUT_APPROVAL = "never_destroy_without_approval"
    NEVER_EXPOSE_SECRETS = "never_expose_secrets"
    NEVER_TOUCH_FILES_OUTSIDE_WORKTREE = "never_touch_files_outside_worktree"
    VALIDATE_INPUTS = "validate_inputs"
    RESPECT_BUDGETS = "respect_budgets"
    ESCALATE_UNCERTAINTY = "escalate_uncertainty"


PRINCIPLE_TEXT: dict[Principle, str] = {
    Principle.NEVER_DESTROY_WITHOUT_APPROVAL: "Never destroy data, history or machines without a human's approval.",
    Principle.NEVER_EXPOSE_SECRETS: "Never expose secrets: no credentials in changes, logs or network traffic.",
    Principle.NEVER_TOUCH_FILES_OUTSIDE_WORKTREE: "Never touch files outside the run's worktree.",
    Principle.VALIDATE_INPUTS: "Validate inputs: run nothing that arrives unverified (downloaded code, malformed input).",
    Principle.RESPECT_BUDGETS: "Respect budgets: no runaway processes, no huge artefacts.",
    Principle.ESCALATE_UNCERTAINTY: "Escalate uncertainty: what cannot be analysed goes to a human.",
}


@dataclass(frozen=True)
class Rule:
    id: str
    principle: Principle
    severity: float
    summary: str


@dataclass(frozen=True)
class Finding:
    """What an analyzer saw: a rule and a human-readable detail (never the secret itself)."""

    rule: str
    detail: str

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise KeyError(f"unknown safety rule {self.rule!r}")


P = Principle
CRITICAL, HIGH, MEDIUM, LOW, NOTE = 0.95, 0.8, 0.5, 0.35, 0.1

_RULE_LIST: tuple[Rule, ...] = (
    # --- shell -------------------------------------------------------------------------------
    Rule("shell.unparseable", P.ESCALATE_UNCERTAINTY, MEDIUM, "The command could not be parsed as shell."),
    Rule(
        "shell.dynamic_command",
        P.ESCALATE_UNCERTAINTY,
        LOW,
        "The program to run is only known at run time ($VAR, $(…) or eval of non-literal text).",
    ),
    Rule(
        "shell.too_deep",
        P.ESCALATE_UNCERTAINTY,
        MEDIUM,
        "Nested sh -c / eval deeper than the analyser follows.",
    ),
    Rule(
        "shell.rm_root",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        CRITICAL,
        "Recursive delete of /, a top-level directory, the home directory or an ancestor of the worktree.",
    ),
    Rule(
        "shell.rm_outside_worktree",
        P.NEVER_TOUCH_FILES_OUTSIDE_WORKTREE,
        MEDIUM,
        "Delete of a path outside the worktree.",
    ),
    Rule(
        "shell.rm_worktree", P.NEVER_DESTROY_WITHOUT_APPROVAL, LOW, "Recursive delete of the whole worktree."
    ),
    Rule(
        "shell.rm_git_dir",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        0.6,
        "Delete of the repository's .git directory (its history).",
    ),
    Rule(
        "shell.disk_wipe",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        CRITICAL,
        "mkfs, wipefs, dd or a redirect onto a block device.",
    ),
    Rule(
        "shell.chmod_root",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        0.9,
        "Recursive chmod/chown of /, a top-level directory or the home directory.",
    ),
    Rule(
        "shell.shutdown",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        HIGH,
        "Shutdown, reboot, halt or kill of every process.",
    ),
    Rule(
        "shell.remote_destroy",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        0.6,
        "Destroys infrastructure or remote data (terraform destroy, kubectl delete, dropdb, …).",
    ),
    Rule(
        "shell.fork_bomb",
        P.RESPECT_BUDGETS,
        CRITICAL,
        "A function that recursively spawns itself (fork bomb).",
    ),
    Rule(
        "shell.system_write",
        P.NEVER_TOUCH_FILES_OUTSIDE_WORKTREE,
        0.65,
        "Writes into a system directory (/etc, /usr, /boot, …).",
    ),
    Rule(
        "shell.exec_file_write",
        P.NEVER_TOUCH_FILES_OUTSIDE_WORKTREE,
        0.85,
        "Writes a file that runs code later (.bashrc, .profile, .git/hooks, crontab, authorized_keys).",
    ),
    Rule(
        "shell.write_outside_worktree",
        P.NEVER_TOUCH_FILES_OUTSIDE_WORKTREE,
        MEDIUM,
        "Writes a file outside the worktree (other than /tmp).",
    ),
    Rule(
        "shell.secret_read",
        P.NEVER_EXPOSE_SECRETS,
        0.75,
        "Reads a credential file (SSH keys, cloud credentials, .env, …).",
    ),
    Rule(
        "shell.secret_exfiltration",
        P.NEVER_EXPOSE_SECRETS,
        CRITICAL,
        "Sends credentials or the environment over the network.",
    ),
    Rule(
        "shell.inline_secret", P.NEVER_EXPOSE_SECRETS, 0.6, "The command line itself contains a credential."
    ),
    Rule(
        "shell.network_egress",
        P.NEVER_EXPOSE_SECRETS,
        MEDIUM,
        "Network traffic to a host that is not on the egress allowlist.",
    ),
    Rule(
        "shell.pipe_to_shell",
        P.VALIDATE_INPUTS,
        0.9,
        "Downloaded content is run as a program (curl … | sh, bash <(curl …)).",
    ),
    Rule(
        "shell.stdin_to_shell",
        P.ESCALATE_UNCERTAINTY,
        LOW,
        "A shell or interpreter runs a program read from a pipe the analyser cannot see.",
    ),
    Rule(
        "shell.reverse_shell",
        P.NEVER_EXPOSE_SECRETS,
        CRITICAL,
        "A shell wired to a network connection (reverse or bind shell).",
    ),
    Rule("shell.privileged", P.ESCALATE_UNCERTAINTY, NOTE, "Runs with elevated privileges (sudo, doas)."),
    Rule(
        "shell.too_large",
        P.ESCALATE_UNCERTAINTY,
        MEDIUM,
        "The command is too large (or took too long) to analyse.",
    ),
    Rule(
        "shell.service_stop",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        0.6,
        "Stops, disables or masks a system service (systemctl stop, service … stop, launchctl unload).",
    ),
    Rule(
        "shell.firewall_off",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        HIGH,
        "Flushes or opens the firewall, or turns off SELinux/AppArmor (iptables -F, ufw disable, setenforce 0).",
    ),
    Rule(
        "shell.secret_print",
        P.NEVER_EXPOSE_SECRETS,
        0.6,
        "Prints a secret from the environment, a keyring, a password store or a secrets manager.",
    ),
    Rule(
        "shell.root_shell",
        P.ESCALATE_UNCERTAINTY,
        0.6,
        "Opens a root shell (sudo su, sudo -i, su -): what runs in it is out of the analyser's sight.",
    ),
    Rule(
        "shell.privilege_grant",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        HIGH,
        "Grants root power: a uid-0 or sudo-group user, setuid/setgid bits, file capabilities, sudoers.",
    ),
    Rule(
        "shell.setgid",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        LOW,
        "Sets the setgid bit (g+s, 2xxx): programs run with the file's group; a directory passes its group on.",
    ),
    Rule(
        "shell.crypto_miner",
        P.RESPECT_BUDGETS,
        CRITICAL,
        "Runs a cryptocurrency miner (xmrig, minerd, a stratum+tcp:// pool).",
    ),
    Rule(
        "shell.detached_process",
        P.RESPECT_BUDGETS,
        LOW,
        "Starts a process that outlives the action (nohup, setsid, disown, screen -dm, tmux new -d, at).",
    ),
    Rule(
        "shell.package_index",
        P.VALIDATE_INPUTS,
        0.6,
        "Points a package manager at an index or registry off the allowlist, or turns off its checks.",
    ),
    Rule(
        "shell.erase_traces",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        0.65,
        "Erases shell history, logs or audit records (history -c, unset HISTFILE, rm /var/log/…).",
    ),
    # --- git ---------------------------------------------------------------------------------
    Rule(
        "git.force_push",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        0.9,
        "Force push (or mirror push) to a shared branch or an unnamed one.",
    ),
    Rule(
        "git.force_push_branch",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        MEDIUM,
        "Force push to a named feature branch.",
    ),
    Rule(
        "git.push_shared",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        MEDIUM,
        "Direct push to a shared branch, bypassing review.",
    ),
    Rule(
        "git.delete_shared_branch",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        0.85,
        "Deletes a shared branch locally or on a remote.",
    ),
    Rule(
        "git.history_rewrite",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        0.85,
        "Rewrites history (filter-branch, filter-repo, rebase of a shared branch, branch -f on a shared branch).",
    ),
    Rule(
        "git.reset_hard_shared",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        HIGH,
        "reset --hard while on a shared branch.",
    ),
    Rule(
        "git.reset_hard",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        LOW,
        "reset --hard discards uncommitted work or commits.",
    ),
    Rule(
        "git.purge_history",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        0.6,
        "Expires the reflog or prunes unreachable objects, removing the way back.",
    ),
    Rule("git.clean", P.NEVER_DESTROY_WITHOUT_APPROVAL, 0.2, "git clean -f deletes untracked files."),
    Rule(
        "git.config_exec",
        P.VALIDATE_INPUTS,
        0.6,
        "git config that makes git run a program (hooksPath, fsmonitor, sshCommand, ! aliases).",
    ),
    Rule(
        "git.remote_egress",
        P.NEVER_EXPOSE_SECRETS,
        MEDIUM,
        "Clone, fetch or push to a host that is not on the egress allowlist.",
    ),
    Rule("git.not_git", P.VALIDATE_INPUTS, MEDIUM, "A git action that runs programs other than git."),
    Rule(
        "git.push_remote",
        P.NEVER_EXPOSE_SECRETS,
        MEDIUM,
        "Pushes or merges to a remote the policy's push_remotes does not list.",
    ),
    # --- diff --------------------------------------------------------------------------------
    Rule(
        "diff.malformed", P.VALIDATE_INPUTS, MEDIUM, "The text is not a unified diff the analyser can read."
    ),
    Rule(
        "diff.path_escape",
        P.NEVER_TOUCH_FILES_OUTSIDE_WORKTREE,
        CRITICAL,
        "A path that is absolute or climbs out of the repository with '..'.",
    ),
    Rule("diff.git_dir", P.NEVER_TOUCH_FILES_OUTSIDE_WORKTREE, 0.9, "Writes inside .git/ (hooks, config)."),
    Rule(
        "diff.symlink", P.NEVER_TOUCH_FILES_OUTSIDE_WORKTREE, MEDIUM, "Creates a symbolic link (mode 120000)."
    ),
    Rule(
        "diff.symlink_escape",
        P.NEVER_TOUCH_FILES_OUTSIDE_WORKTREE,
        0.9,
        "A symbolic link pointing outside the repository.",
    ),
    Rule(
        "diff.ci_file",
        P.NEVER_EXPOSE_SECRETS,
        MEDIUM,
        "Changes CI configuration, which runs with deployment secrets.",
    ),
    Rule(
        "diff.credential_file",
        P.NEVER_EXPOSE_SECRETS,
        0.6,
        "Touches a credential file (.env, private keys, .aws/credentials, .npmrc with a token, …).",
    ),
    Rule(
        "diff.exec_dotfile",
        P.ESCALATE_UNCERTAINTY,
        LOW,
        "Changes a dotfile that shells run automatically (.envrc, .bashrc, …).",
    ),
    Rule(
        "diff.secret", P.NEVER_EXPOSE_SECRETS, 0.9, "An added line contains a credential of a known format."
    ),
    Rule(
        "diff.possible_secret",
        P.NEVER_EXPOSE_SECRETS,
        MEDIUM,
        "An added line assigns a secret-named value or holds a high-entropy token.",
    ),
    Rule(
        "diff.binary_blob",
        P.RESPECT_BUDGETS,
        MEDIUM,
        "Adds a binary blob larger than the policy allows, or of unknown size.",
    ),
    Rule("diff.too_large", P.RESPECT_BUDGETS, MEDIUM, "The diff is larger than the policy allows."),
    Rule(
        "diff.test_deleted",
        P.VALIDATE_INPUTS,
        MEDIUM,
        "Deletes a test file or test functions (a rename that keeps the test is not a deletion).",
    ),
    Rule(
        "diff.test_skipped",
        P.VALIDATE_INPUTS,
        MEDIUM,
        "Adds a skip marker to tests (@pytest.mark.skip, it.skip, xit, t.Skip(), @Disabled, …).",
    ),
    Rule(
        "diff.test_selection",
        P.VALIDATE_INPUTS,
        MEDIUM,
        "Changes which tests run or the test command (addopts -k 'not …', --deselect, scripts.test, QA config).",
    ),
    Rule(
        "diff.assertions_removed",
        P.VALIDATE_INPUTS,
        MEDIUM,
        "Removes assertions from tests, or makes them always pass (assert True, expect(true)).",
    ),
    Rule(
        "diff.install_hook",
        P.VALIDATE_INPUTS,
        MEDIUM,
        "Adds code that runs at install or build time (setup.py cmdclass or os.system, npm postinstall).",
    ),
    Rule(
        "diff.timing_unsafe_compare",
        P.NEVER_EXPOSE_SECRETS,
        MEDIUM,
        "Removes a constant-time comparison (hmac.compare_digest, timingSafeEqual, …) from a check.",
    ),
    Rule(
        "diff.package_index",
        P.VALIDATE_INPUTS,
        0.6,
        "Points a package manager's configuration at an index or registry off the allowlist.",
    ),
    # --- sql ---------------------------------------------------------------------------------
    Rule(
        "sql.unparseable",
        P.ESCALATE_UNCERTAINTY,
        MEDIUM,
        "The SQL could not be parsed, or is not a statement.",
    ),
    Rule(
        "sql.unrecognised", P.ESCALATE_UNCERTAINTY, LOW, "A statement the parser keeps only as opaque text."
    ),
    Rule("sql.drop", P.NEVER_DESTROY_WITHOUT_APPROVAL, HIGH, "DROP of a table, database or schema."),
    Rule(
        "sql.drop_object",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        MEDIUM,
        "DROP of a view, index, function or other object.",
    ),
    Rule("sql.truncate", P.NEVER_DESTROY_WITHOUT_APPROVAL, HIGH, "TRUNCATE empties a table."),
    Rule(
        "sql.delete_without_where",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        HIGH,
        "DELETE without a WHERE clause (or with an always-true one).",
    ),
    Rule(
        "sql.update_without_where",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        0.75,
        "UPDATE without a WHERE clause (or with an always-true one).",
    ),
    Rule(
        "sql.alter_drop",
        P.NEVER_DESTROY_WITHOUT_APPROVAL,
        0.6,
        "ALTER … DROP of a column, constraint or partition.",
    ),
    Rule("sql.grant", P.NEVER_EXPOSE_SECRETS, MEDIUM, "GRANT widens who can read or change data."),
    Rule("sql.revoke", P.NEVER_DESTROY_WITHOUT_APPROVAL, MEDIUM, "REVOKE removes access."),
    Rule("sql.too_large", P.ESCALATE_UNCERTAINTY, MEDIUM, "The SQL is too large (or took too long) to analyse."),
    Rule(
        "sql.file_access",
        P.NEVER_TOUCH_FILES_OUTSIDE_WORKTREE,
        MEDIUM,
        "COPY to or from a file or program on the database host.",
    ),
    # --- file_write --------------------------------------------------------------------------
    Rule("file.invalid_path", P.VALIDATE_INPUTS, MEDIUM, "The path is empty or contains control characters."),
    Rule(
        "file.outside_worktree",
        P.NEVER_TOUCH_FILES_OUTSIDE_WORKTREE,
        0.9,
        "The path is outside the worktree.",
    ),
    Rule("file.git_dir", P.NEVER_TOUCH_FILES_OUTSIDE_WORKTREE, 0.9, "Writes inside .git/ (hooks, config)."),
    Rule(
        "file.exec_dotfile",
        P.ESCALATE_UNCERTAINTY,
        LOW,
        "Writes a dotfile that shells run automatically (.envrc, .bashrc, …).",
    ),
    Rule(
        "file.ci_file",
        P.NEVER_EXPOSE_SECRETS,
        MEDIUM,
        "Writes CI configuration, which runs with deployment secrets.",
    ),
    Rule("file.credential_file", P.NEVER_EXPOSE_SECRETS, 0.6, "Writes a credential file."),
    Rule("file.secret", P.NEVER_EXPOSE_SECRETS, 0.9, "The content contains a credential of a known format."),
    Rule(
        "file.package_index",
        P.VALIDATE_INPUTS,
        0.6,
        "Points a package manager's configuration at an index or registry off the allowlist.",
    ),
    Rule(
        "file.too_large",
        P.ESCALATE_UNCERTAINTY,
        MEDIUM,
        "The content is too large (or took too long) to analyse.",
    ),
    Rule(
        "file.possible_secret",
        P.NEVER_EXPOSE_SECRETS,
        MEDIUM,
        "The content assigns a secret-named value or holds a high-entropy token.",
    ),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULE_LIST}
if len(RULES) != len(_RULE_LIST):  # pragma: no cover - guards an edit to the table above
    raise RuntimeError("duplicate safety rule id")
