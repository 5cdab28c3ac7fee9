"""Checkers for developer tools that reach other systems: package managers (which index they trust),
database clients (what their statements destroy) and git hosts and clouds (what their verbs delete)."""

from __future__ import annotations

import re

from .admin import url_off_allowlist
from .options import Arg, split_options
from .walker import Facts, Walker

# --- package managers -------------------------------------------------------------------------------

_PIP_INDEX_OPTIONS = frozenset(
    {
        "-i",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "--index",
        "--default-index",
        "--trusted-host",
    }
)
_PIP_CONFIG_KEYS = re.compile(
    r"(?i)^(global|install|download|user|site)\.(index-url|extra-index-url|find-links|trusted-host|index|cert)$"
)


def _option_values(args: list[Arg], options: frozenset[str]) -> list[tuple[str, Arg]]:
    """(option, value) for each option in `options`, spelled `--opt value`, `--opt=value` or `-ivalue`."""
    found: list[tuple[str, Arg]] = []
    for i, arg in enumerate(args):
        if arg is None:
            continue
        if arg in options:
            found.append((arg, args[i + 1] if i + 1 < len(args) else None))
        elif arg.startswith("--") and arg.split("=", 1)[0] in options and "=" in arg:
            found.append((arg.split("=", 1)[0], arg.split("=", 1)[1]))
        elif not arg.startswith("--") and arg[:2] in options and len(arg) > 2 and arg[:2] in ("-i",):
            found.append((arg[:2], arg[2:]))
    return found


def _index_option(walk: Walker, name: str, option: str, value: Arg) -> None:
    if value is None:
        walk.add("shell.package_index", f"{name} {option} names an index only known at run time")
    elif option == "--trusted-host":
        walk.add("shell.package_index", f"{name} --trusted-host {value} turns off TLS checks for that host")
    elif "://" in value:
        host = url_off_allowlist(walk, value)
        if host is not None:
            walk.add("shell.package_index", f"{name} {option} installs from {host}")


def pip(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if name in ("uv", "pipx", "pdm", "rye", "hatch") and args and args[0] == "pip":
        args = args[1:]
    if args[:2] == ["config", "set"] and len(args) >= 3 and args[2] is not None:
        key = args[2].split("=", 1)[0]
        value = args[3] if len(args) > 3 else (args[2].split("=", 1)[1] if "=" in args[2] else None)
        if _PIP_CONFIG_KEYS.match(key):
            if key.endswith("trusted-host") or value is None or url_off_allowlist(walk, value) is not None:
                walk.add("shell.package_index", f"{name} config set {key} changes where packages come from")
        return
    for option, value in _option_values(args, _PIP_INDEX_OPTIONS | {"--pypi-mirror"}):
        _index_option(walk, name, option, value)
    if args[:1] in (["install"], ["download"], ["add"]):
        for value in args[1:]:
            if value is not None and not value.startswith("-") and "://" in value:
                host = url_off_allowlist(
                    walk, value.split("+", 1)[-1] if value.startswith(("git+", "hg+")) else value
                )
                if host is not None:
                    walk.add("shell.package_index", f"{name} installs a package straight from {host}")


def poetry(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if args[:2] == ["source", "add"]:
        for value in args[2:]:
            if value is not None and "://" in value and url_off_allowlist(walk, value) is not None:
                walk.add("shell.package_index", f"poetry source add {url_off_allowlist(walk, value)}")
    elif args[:1] == ["config"] and any(a is not None and a.startswith("repositories.") for a in args):
        walk.add("shell.package_index", "poetry config adds a package repository")


def npm(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    words = [a for a in args if a is not None]
    if words[:1] and words[0] in ("install", "i", "add", "ci"):
        for value in words[1:]:
            if "://" in value and not value.startswith("-"):
                host = url_off_allowlist(walk, value.split("+", 1)[-1])
                if host is not None:
                    walk.add("shell.package_index", f"{name} installs a package straight from {host}")
    for option, value in _option_values(args, frozenset({"--registry", "--@*:registry"})):
        _index_option(walk, name, option, value)
    for i, word in enumerate(words):
        if word in ("set",) and i + 1 < len(words):
            key, _, value = words[i + 1].partition("=")
            if not value and i + 2 < len(words):
                value = words[i + 2]
            lowered = key.lower()
            if lowered.endswith("registry") or lowered in ("npmregistryserver", "npmscopes"):
                if url_off_allowlist(walk, value) is not None or "://" not in value:
                    walk.add("shell.package_index", f"{name} config set {key} points at another registry")
            elif lowered in ("strict-ssl", "enablestrictssl") and value.lower() == "false":
                walk.add("shell.package_index", f"{name} config set {key} false turns off TLS checks")
            elif lowered in ("ignore-scripts",) and value.lower() == "false":
                continue
            return


def gem(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    for option, value in _option_values(args, frozenset({"--add", "-a", "--source", "-s"})):
        if args[:1] == ["sources"] or option in ("--source", "-s"):
            _index_option(walk, name, option, value)
    if (
        name == "bundle"
        and args[:1] == ["config"]
        and any(a is not None and a.startswith("mirror.") for a in args)
    ):
        walk.add("shell.package_index", "bundle config mirror changes where gems come from")


def go(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    from .admin import index_variable

    if args[:2] == ["env", "-w"] or (args[:1] == ["env"] and "-w" in args):
        for arg in args[2:]:
            if arg is not None and "=" in arg:
                variable, _, value = arg.partition("=")
                index_variable(walk, variable, value)
    if args[:1] in (["get"], ["install"]) and "-insecure" in args:
        walk.add("shell.package_index", "go get -insecure fetches modules without TLS checks")


def cargo(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    for option, value in _option_values(args, frozenset({"--index", "--registry-url"})):
        _index_option(walk, name, option, value)


def conda(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    for option, value in _option_values(args, frozenset({"-c", "--channel", "--add"})):
        if value is not None and "://" in value:
            _index_option(walk, name, option, value)


def apt_repository(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    words = [a for a in args if a is not None]
    if name == "add-apt-repository" and not {"-r", "--remove", "-L", "--list"} & set(words):
        walk.add("shell.package_index", "add-apt-repository adds a package source for the system")
    elif name == "apt-key" and words[:1] in (["add"], ["adv"]):
        walk.add("shell.package_index", "apt-key trusts a new signing key for system packages")
    elif name in ("dnf", "yum", "yum-config-manager") and (
        "--add-repo" in words or any(w.startswith("--add-repo=") for w in words) or "--nogpgcheck" in words
    ):
        walk.add("shell.package_index", f"{name} adds a package repository or skips signature checks")
    elif name == "rpm" and "--import" in words:
        walk.add("shell.package_index", "rpm --import trusts a new signing key for system packages")


def composer(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    words = [a for a in args if a is not None]
    if "config" in words[:2] and any(w.startswith(("repo.", "repositories.")) for w in words):
        url = next((w for w in words if "://" in w), None)
        if url is None or url_off_allowlist(walk, url) is not None:
            walk.add("shell.package_index", "composer config adds a package repository")


def nuget(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    words = [a for a in args if a is not None]
    if (name == "dotnet" and words[:3] == ["nuget", "add", "source"]) or (
        name == "nuget" and words[:2] == ["sources", "add"]
    ):
        url = next((w for w in words if "://" in w), None)
        if url is None or url_off_allowlist(walk, url) is not None:
            walk.add("shell.package_index", f"{name} adds a NuGet source")


# --- database clients -------------------------------------------------------------------------------

_MONGO_DESTROY = re.compile(
    r"\.(dropDatabase|drop|dropCollection|dropAllUsers|dropUser|dropAllRoles|dropIndexes|shutdownServer)\s*\("
    r"|\.(deleteMany|remove|deleteOne)\s*\(\s*\{\s*\}\s*\)"
    r"|\.(updateMany|replaceOne)\s*\(\s*\{\s*\}\s*,"
)
_REDIS_DESTROY = frozenset({"flushall", "flushdb", "shutdown", "slaveof", "replicaof", "debug", "swapdb"})


def mongo(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if name in ("mongorestore",) and "--drop" in args:
        walk.add("shell.remote_destroy", "mongorestore --drop drops collections before restoring")
        return
    for i, arg in enumerate(args):
        code = None
        if arg == "--eval" and i + 1 < len(args):
            code = args[i + 1]
        elif arg is not None and arg.startswith("--eval="):
            code = arg.split("=", 1)[1]
        if code is not None:
            match = _MONGO_DESTROY.search(code)
            if match:
                walk.add(
                    "shell.remote_destroy",
                    f"{name} --eval runs {match.group(0).strip('.( ,')}, which deletes data",
                )
    facts.stdin_database = name


def redis_cli(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    _, positionals = split_options(
        args,
        frozenset(
            {
                "-h",
                "-p",
                "-a",
                "-n",
                "-u",
                "-s",
                "-r",
                "-i",
                "--user",
                "--pass",
                "--rdb",
                "--pattern",
                "-d",
                "--eval",
            }
        ),
    )
    words = [p.lower() for p in positionals if p is not None]
    if words[:1] and words[0] in _REDIS_DESTROY:
        walk.add(
            "shell.remote_destroy", f"redis-cli {words[0].upper()} deletes or replaces the server's data"
        )
    elif words[:2] == ["config", "set"]:
        walk.add(
            "shell.remote_destroy",
            f"redis-cli CONFIG SET {' '.join(words[2:3])} rewrites the server's configuration",
        )
    elif words[:1] in (["del"], ["unlink"]) and walk.fed_by_xargs:
        walk.add("shell.remote_destroy", "redis-cli DEL of keys read from input")
    elif not words:
        facts.stdin_database = name


def mysqladmin(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    words = [a.lower() for a in args if a is not None and not a.startswith("-")]
    if words[:1] in (["drop"], ["shutdown"]):
        walk.add("shell.remote_destroy", f"mysqladmin {words[0]} deletes a database or stops the server")


def minio(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    words = [a for a in args if a is not None]
    if words[:1] == ["rb"] or (words[:1] == ["rm"] and {"--recursive", "-r"} & set(words)):
        walk.add("shell.remote_destroy", f"mc {words[0]} deletes a bucket's contents")


def nosql(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    """etcdctl del, influx … delete, kafka-topics --delete, consul kv delete, zkCli deleteall."""
    words = [a.lower() for a in args if a is not None]
    if name == "etcdctl" and words[:1] in (["del"], ["delete"]):
        walk.add(
            "shell.remote_destroy", f"etcdctl del {'--prefix ' if '--prefix' in words else ''}deletes keys"
        )
    elif name == "influx" and ("delete" in words[:3] or any(re.match(r"(drop|delete)\s", w) for w in words)):
        walk.add("shell.remote_destroy", "influx deletes data")
    elif name.startswith("kafka-topics") and "--delete" in words:
        walk.add("shell.remote_destroy", "kafka-topics --delete deletes a topic")
    elif name == "consul" and words[:2] == ["kv", "delete"]:
        walk.add("shell.remote_destroy", "consul kv delete deletes keys")
    elif name.startswith("zkCli") and any(w in ("deleteall", "rmr") for w in words):
        walk.add("shell.remote_destroy", f"{name} deletes a ZooKeeper subtree")


# --- git hosts and clouds ---------------------------------------------------------------------------

_DELETE_VERBS = frozenset({"delete", "delete-asset", "destroy", "remove", "rm", "purge", "apps:destroy"})
HOST_CLIS = frozenset(
    {
        "gh",
        "glab",
        "tea",
        "hub",
        "gcloud",
        "az",
        "doctl",
        "heroku",
        "fly",
        "flyctl",
        "vercel",
        "netlify",
        "linode-cli",
        "hcloud",
        "scw",
        "oci",
        "ibmcloud",
        "pulumi",
    }
)


def host_cli(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    """gh repo delete, glab release delete, gcloud … delete, heroku apps:destroy, pulumi destroy, and
    `gh api -X DELETE …`: a git host's or a cloud's verb that deletes what it names."""
    from .admin import keyring

    keyring(walk, name, args, facts, inner)
    words = [a for a in args if a is not None]
    if name in ("gh", "glab", "tea") and words[:1] == ["api"]:
        method = _http_method(words)
        if method == "DELETE":
            walk.add("shell.remote_destroy", f"{name} api -X DELETE deletes {_first_path(words[1:])}")
        elif any(re.search(r"mutation[\s\S]*\b(?:delete|remove|archive)\w*\s*\(", w, re.I) for w in words):
            walk.add("shell.remote_destroy", f"{name} api graphql runs a delete mutation")
        return
    positionals = [w for w in words if not w.startswith("-")]
    verbs = positionals[:4] if name in ("gcloud", "az", "oci", "ibmcloud", "linode-cli") else positionals[:2]
    hit = next(
        (
            v
            for v in verbs
            if v.lower() in _DELETE_VERBS or v.lower().endswith(":destroy") or v.lower().startswith("delete-")
        ),
        None,
    )
    if hit is not None and not (name == "pulumi" and hit != "destroy"):
        walk.add(
            "shell.remote_destroy",
            f"{name} {' '.join(positionals[: positionals.index(hit) + 1])} deletes remote resources",
        )


def _http_method(words: list[str]) -> str | None:
    for i, word in enumerate(words):
        if word in ("-X", "--method", "--request") and i + 1 < len(words):
            return words[i + 1].upper()
        if word.startswith(("--method=", "--request=")):
            return word.split("=", 1)[1].upper()
        if word.startswith("-X") and len(word) > 2:
            return word[2:].upper()
    return None


def _first_path(words: list[str]) -> str:
    return next((w for w in words if not w.startswith("-") and w.upper() != "DELETE"), "a resource")


def http_delete(walk: Walker, name: str, args: list[Arg]) -> None:
    """curl -X DELETE, wget --method=DELETE, `http DELETE url`: an HTTP DELETE removes what the URL names."""
    words = [a for a in args if a is not None]
    method = _http_method(words)
    operands = [w for w in words if not w.startswith("-")]
    if name in ("http", "https", "xh") and operands and operands[0].upper() == "DELETE":
        method = "DELETE"
    if method == "DELETE":
        url = next((w for w in words if "://" in w or re.match(r"^[\w.-]+(:\d+)?/", w)), "a URL")
        walk.add("shell.remote_destroy", f"{name} sends an HTTP DELETE to {url[:80]}")
