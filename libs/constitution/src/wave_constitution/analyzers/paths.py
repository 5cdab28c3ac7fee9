"""Lexical path classification. Nothing here touches the filesystem: a path is judged by its text,
resolved against the directory the action runs in (the worktree unless a `cd` moved it)."""

from __future__ import annotations

import posixpath
from enum import Enum
from fnmatch import fnmatch


class Place(Enum):
    INSIDE = "inside the worktree"
    TMP = "a scratch directory"
    ANCESTOR = "an ancestor of the worktree"
    ROOT_LIKE = "the root, the home directory or a top-level directory"
    SYSTEM = "a system directory"
    DEVICE = "a block device"
    HARMLESS_DEVICE = "a harmless device"
    OUTSIDE = "outside the worktree"


_SYSTEM_PREFIXES = (
    "/etc",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/boot",
    "/sys",
    "/proc",
    "/root",
    "/var/spool",
    "/var/lib",
)
_LOCAL_PREFIXES = ("/usr/local", "/usr/share", "/usr/src")
_TMP_PREFIXES = ("/tmp", "/var/tmp", "/dev/shm")
_HARMLESS_DEVICES = (
    "/dev/null",
    "/dev/zero",
    "/dev/stdout",
    "/dev/stderr",
    "/dev/stdin",
    "/dev/tty",
    "/dev/random",
    "/dev/urandom",
    "/dev/full",
    "/dev/fd/*",
    "/dev/pts/*",
    "/dev/console",
    "/proc/self/fd/*",
)
_BLOCK_DEVICES = (
    "/dev/sd*",
    "/dev/hd*",
    "/dev/vd*",
    "/dev/xvd*",
    "/dev/nvme*",
    "/dev/mmcblk*",
    "/dev/disk*",
    "/dev/mapper/*",
    "/dev/md*",
    "/dev/loop*",
    "/dev/dm-*",
    "/dev/sr*",
    "/dev/mem",
    "/dev/kmem",
    "/dev/port",
)

# Files a shell, login, cron, ssh or git runs (or reads commands from) on its own later.
EXEC_DOTFILES = frozenset(
    {
        ".bashrc",
        ".bash_profile",
        ".bash_login",
        ".bash_logout",
        ".profile",
        ".zshrc",
        ".zshenv",
        ".zprofile",
        ".zlogin",
        ".zlogout",
        ".cshrc",
        ".tcshrc",
        ".login",
        ".kshrc",
        ".envrc",
        ".xinitrc",
        ".xprofile",
        ".xsession",
        ".pam_environment",
    }
)
_EXEC_PATH_PATTERNS = (
    "*/.git/hooks/*",
    ".git/hooks/*",
    "*/.git/config",
    ".git/config",
    "*/.ssh/authorized_keys*",
    "*/.ssh/rc",
    "*/.ssh/config",
    "/etc/cron*",
    "/var/spool/cron*",
    "*/.config/autostart/*",
    "*/.config/systemd/*",
    "/etc/profile",
    "/etc/profile.d/*",
    "/etc/bash.bashrc",
    "/etc/zsh/*",
    "/etc/rc.local",
    "/etc/init.d/*",
    "/etc/systemd/*",
    "/lib/systemd/*",
    "/etc/sudoers*",
    "/etc/ld.so.preload",
    "*/.gitconfig",
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/pam.d/*",
)

_ENV_FILE_SUFFIX_OK = ("example", "sample", "template", "dist", "defaults", "schema")
_CREDENTIAL_NAMES = frozenset(
    {
        "id_rsa",
        "id_dsa",
        "id_ecdsa",
        "id_ed25519",
        "id_ecdsa_sk",
        "id_ed25519_sk",
        ".netrc",
        "_netrc",
        ".pgpass",
        ".git-credentials",
        ".pypirc",
        "credentials.json",
        "service-account.json",
        "client_secret.json",
        "shadow",
        "gshadow",
        "master.key",
        "secrets.yml",
        ".htpasswd",
    }
)
_CREDENTIAL_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".ppk", ".kdbx", ".asc.key")
_CREDENTIAL_PATTERNS = (
    "*.aws/credentials",
    "*.aws/config",
    "*.docker/config.json",
    "*.kube/config",
    "*.gnupg/*",
    "*.ssh/id_*",
    "/proc/*/environ",
    "*.config/gcloud/*credentials*",
    "*.azure/*token*",
    "*.terraform.d/credentials.tfrc.json",
    "*/.vault-token",
    "*.config/gh/hosts.yml",
    "*.config/hub",
    "*.password-store/*",
    "*.local/share/keyrings/*",
    "*Library/Keychains/*",
    "*/.mozilla/firefox/*/logins.json",
    "*/.config/op/config",
)

CI_PATTERNS = (
    ".github/workflows/*",
    ".github/actions/*",
    ".gitlab-ci.yml",
    ".gitlab/ci/*",
    ".gitlab-ci/*",
    "Jenkinsfile",
    "*/Jenkinsfile",
    ".circleci/*",
    ".travis.yml",
    "azure-pipelines.yml",
    ".azure-pipelines/*",
    "bitbucket-pipelines.yml",
    ".buildkite/*",
    ".drone.yml",
    ".woodpecker.yml",
    ".woodpecker/*",
    "cloudbuild.yaml",
    "cloudbuild.yml",
    "appveyor.yml",
    ".appveyor.yml",
    ".cirrus.yml",
    "buildspec.yml",
)


def resolve(path: str, cwd: str = ".") -> str:
    """Join `path` onto `cwd` and collapse '.' and '..' without following links; '~' stays symbolic."""
    if path.startswith("/"):
        return _norm(path)
    if path == "~" or path.startswith("~/"):
        return _norm(path)
    if path.startswith("~"):  # ~user: another user's home is as out of bounds as ours
        return _norm("~/../" + path[1:])
    return _norm(posixpath.join(cwd, path))


def _norm(path: str) -> str:
    if path.startswith("~"):
        rest = posixpath.normpath("/" + path[1:].lstrip("/")) if path[1:].strip("/") else ""
        if rest.startswith("//"):
            rest = rest[1:]
        if rest in ("", "/"):
            return "~"
        return "~" + rest
    normed = posixpath.normpath(path)
    if normed.startswith("//"):
        normed = normed[1:]
    return normed


def classify(path: str, worktree: str = ".") -> Place:
    """Where a resolved path lies relative to the worktree (a relative '.' or an absolute directory)."""
    if path.startswith(("/dev/", "/proc/self/fd/")):
        if any(fnmatch(path, p) for p in _HARMLESS_DEVICES):
            return Place.HARMLESS_DEVICE
        if any(fnmatch(path, p) for p in _BLOCK_DEVICES):
            return Place.DEVICE
    if worktree.startswith("/"):
        root = _norm(worktree)
        if not path.startswith(("/", "~")):
            path = _norm(posixpath.join(root, path))
        if path.startswith("/"):
            if path == root or path.startswith(root.rstrip("/") + "/"):
                return Place.INSIDE
            if root.startswith(_strip_glob(path).rstrip("/") + "/"):
                return Place.ANCESTOR
    else:
        if not path.startswith(("/", "~")):
            base = _strip_glob(path)
            if base == ".." or base.startswith("../"):
                if all(part == ".." for part in base.split("/")):
                    return Place.ANCESTOR
                return Place.OUTSIDE
            return Place.INSIDE
    if path.startswith("~"):
        base = _strip_glob(path)
        return Place.ROOT_LIKE if base in ("~", "~/..") or base.startswith("~/..") else Place.OUTSIDE
    base = _strip_glob(path)
    if _under(base, _TMP_PREFIXES):
        return Place.TMP
    if base.count("/") <= 1:  # "/", "/usr", "/home", "/*", "/usr/*"
        return Place.ROOT_LIKE
    if _under(path, _LOCAL_PREFIXES):
        return Place.OUTSIDE
    if _under(path, _SYSTEM_PREFIXES):
        return Place.SYSTEM
    return Place.OUTSIDE


def _strip_glob(path: str) -> str:
    """`/usr/*` deletes as much as `/usr`: judge a trailing wildcard component by its directory."""
    while True:
        head, tail = posixpath.split(path)
        if tail and any(c in tail for c in "*?[") and head:
            path = head
            continue
        if path.endswith("/") and len(path) > 1:
            path = path.rstrip("/") or "/"
            continue
        return path


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


# Files that record what was done: shell and REPL history, system logs, login and audit records.
_HISTORY_NAMES = frozenset(
    {
        ".bash_history",
        ".zsh_history",
        ".zhistory",
        ".history",
        ".sh_history",
        ".ksh_history",
        ".python_history",
        ".mysql_history",
        ".psql_history",
        ".sqlite_history",
        ".node_repl_history",
        ".irb_history",
        ".rediscli_history",
        ".lesshst",
        "fish_history",
    }
)
_SYSTEM_LOGS = frozenset(
    {"syslog", "auth.log", "secure", "messages", "kern.log", "wtmp", "btmp", "lastlog", "utmp", "faillog", "audit.log", "daemon.log", "sudo.log"}
)
_TRACE_PATTERNS = ("/var/log", "/var/log/*", "/var/run/utmp", "/run/utmp", "/var/audit/*", "/var/account/*")

# Package managers' own configuration: the index or registry they download from.
_PACKAGE_CONFIG_NAMES = frozenset(
    {"pip.conf", "pip.ini", ".pydistutils.cfg", ".npmrc", ".yarnrc", ".yarnrc.yml", ".condarc", ".gemrc", "uv.toml", ".bunfig.toml", "bunfig.toml"}
)
_PACKAGE_CONFIG_PATTERNS = (
    "*/.cargo/config",
    "*/.cargo/config.toml",
    "/etc/apt/sources.list",
    "/etc/apt/sources.list.d/*",
    "/etc/yum.repos.d/*",
    "*/.config/go/env",
    "*/.m2/settings.xml",
    "*/.gradle/init.d/*",
)


def is_trace_file(path: str, overwrite: bool = False) -> bool:
    """True for shell history files, logs under /var/log and login/audit records. `overwrite`: the file is
    being written over, not deleted or truncated; a program may create its own new log that way, so
    only history, the system's own logs and login records count."""
    name = posixpath.basename(path)
    if name in _HISTORY_NAMES or name.endswith("_history") and name.startswith("."):
        return True
    if overwrite:
        return name in _SYSTEM_LOGS or any(fnmatch(path, p) for p in ("/var/log/audit/*", "/var/log/journal/*"))
    return any(fnmatch(_strip_glob(path), p) for p in _TRACE_PATTERNS)


def is_package_config(path: str) -> bool:
    """True for a package manager's configuration file (pip.conf, .npmrc, sources.list, …)."""
    if posixpath.basename(path) in _PACKAGE_CONFIG_NAMES:
        return True
    return any(fnmatch(path, p) or fnmatch("/" + path, p) for p in _PACKAGE_CONFIG_PATTERNS)


def code_role(path: str) -> str:
    """What a file that `runs_code` does, in words that are true of that file (completes "PATH, which …")."""
    name = posixpath.basename(path)
    if name in EXEC_DOTFILES:
        return "shells run automatically"
    if fnmatch(path, "*.git/hooks/*"):
        return "git runs as a hook"
    if name in ("config", ".gitconfig") and (".git" in path or name == ".gitconfig"):
        return "is git configuration that can make git run programs"
    if "authorized_keys" in name:
        return "decides who may log in over ssh"
    if fnmatch(path, "*/.ssh/*"):
        return "ssh reads at every connection and can run commands"
    if "cron" in path:
        return "cron runs on a schedule"
    if name.startswith("sudoers") or "/sudoers" in path:
        return "decides who may run commands as root"
    if name in ("passwd", "shadow", "group"):
        return "is the system's account database (who exists, with which uid and password)"
    if "/pam.d/" in path:
        return "decides how users authenticate"
    if name == "ld.so.preload":
        return "is loaded into every program that starts"
    if "systemd" in path or "/init.d/" in path or name == "rc.local" or "autostart" in path:
        return "starts programs at boot or login"
    return "login shells run automatically"


def runs_code(path: str) -> bool:
    """True for files that run code automatically: shell dotfiles, git hooks, cron, ssh keys and rc files."""
    name = posixpath.basename(path)
    if name in EXEC_DOTFILES:
        return True
    return any(fnmatch(path, p) for p in _EXEC_PATH_PATTERNS)


def is_credential_file(path: str) -> bool:
    name = posixpath.basename(path)
    if name.endswith(".pub"):
        return False
    if name == ".env" or (
        name.startswith(".env.") and name.rsplit(".", 1)[-1].lower() not in _ENV_FILE_SUFFIX_OK
    ):
        return True
    if name in _CREDENTIAL_NAMES or name.endswith(_CREDENTIAL_SUFFIXES):
        return True
    return any(fnmatch(path, p) or fnmatch("/" + path, p) for p in _CREDENTIAL_PATTERNS)


def is_ci_file(path: str) -> bool:
    return any(fnmatch(path, p) for p in CI_PATTERNS)


def in_git_dir(path: str) -> bool:
    parts = path.split("/")
    return ".git" in parts[:-1] or path == ".git"
