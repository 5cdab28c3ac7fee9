"""Checkers for running the machine: services and firewalls, users and privileges, shell history and
logs, secrets printed from the environment or a keyring, detached processes and miners.

Each judges a program by what its verb and options mean (`systemctl stop`, `iptables -P … ACCEPT`,
`useradd -u 0`, `chmod 4755`), so every spelling of the same act is caught, not one string.
"""

from __future__ import annotations

import posixpath
import re

from .options import SHELLS, Arg, split_options
from .walker import Facts, Walker

# A variable named like a credential: API_KEY, GITHUB_TOKEN, DB_PASSWORD, AWS_SECRET_ACCESS_KEY, …
SECRET_NAME = re.compile(
    r"(?i)(?:^|_)(?:secret|token|passw(?:or)?d|passwd|pass|api_?key|apikey|access_?key|credentials?|"
    r"private_?key|auth|session_?key|signing_?key|client_?secret|webhook(?:_url)?|dsn|"
    r"(?:database|db|redis|mongo(?:db)?|amqp|rabbitmq|postgres(?:ql)?|mysql)_ur[li])(?:_|$)"
)
# $NAME or ${NAME…} as it is read, not as it is tested: ${#NAME} (its length) and ${NAME:+…} (whether it
# is set) show nothing of the value.
_EXPANSION = re.compile(r"\$(?:\{(#?)([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
PRINTERS = frozenset({"echo", "printf", "print", "say", "cowsay", "logger", "wall", "notify-send"})

MINERS = frozenset(
    {
        "xmrig",
        "xmrig-cuda",
        "xmr-stak",
        "xmr-stak-cpu",
        "minerd",
        "cpuminer",
        "cpuminer-opt",
        "cpuminer-multi",
        "ccminer",
        "cgminer",
        "bfgminer",
        "ethminer",
        "t-rex",
        "nbminer",
        "phoenixminer",
        "lolminer",
        "gminer",
        "nanominer",
        "teamredminer",
        "srbminer",
        "srbminer-multi",
        "nheqminer",
        "claymore",
        "xmr-node-proxy",
    }
)
_POOL_HOST = re.compile(
    r"(?i)\b(?:minexmr|supportxmr|nanopool|2miners|f2pool|nicehash|moneroocean|hashvault|herominers|unmineable"
    r"|minergate|c3pool|ethermine|xmrpool|antpool|slushpool|miningpoolhub|viabtc|poolin|dwarfpool)\.(?:com|org|net|pro|io|me)\b"
)
_CONTAINER_RUNNERS = frozenset(
    {"docker", "podman", "nerdctl", "kubectl", "ctr", "crictl", "singularity", "apptainer"}
)
# Programs that only search for, show or stop a miner: naming one is not running it.
_LOOKERS = frozenset(
    {"grep", "egrep", "fgrep", "rg", "ps", "pgrep", "pkill", "killall", "kill", "echo", "printf", "man"}
)
_STRATUM = re.compile(r"(?i)\bstratum\d?\+(?:tcp|ssl|tls|udp)://")
# Options only miners take (xmrig's), whatever the binary is renamed to.
_MINER_OPTIONS = frozenset({"--donate-level", "--randomx-mode", "--cpu-max-threads-hint", "--nicehash"})

# Variables whose value decides where a package manager downloads from, or whether it checks what it gets.
INDEX_VARIABLES = frozenset(
    {
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "PIP_FIND_LINKS",
        "PIP_TRUSTED_HOST",
        "UV_INDEX_URL",
        "UV_EXTRA_INDEX_URL",
        "UV_INDEX",
        "UV_DEFAULT_INDEX",
        "UV_FIND_LINKS",
        "POETRY_REPOSITORIES",
        "NPM_CONFIG_REGISTRY",
        "npm_config_registry",
        "YARN_REGISTRY",
        "YARN_NPM_REGISTRY_SERVER",
        "BUN_CONFIG_REGISTRY",
        "GOPROXY",
        "GONOSUMDB",
        "GONOSUMCHECK",
        "GOINSECURE",
        "GOSUMDB",
        "GONOPROXY",
        "GOFLAGS",
        "CARGO_REGISTRIES_CRATES_IO_PROTOCOL",
        "GEM_SOURCE",
        "CONDA_CHANNELS",
        "NODE_TLS_REJECT_UNAUTHORIZED",
        "PIP_CERT",
        "REQUESTS_CA_BUNDLE",
    }
)
HISTORY_VARIABLES = frozenset(
    {"HISTFILE", "HISTSIZE", "HISTFILESIZE", "SAVEHIST", "HISTCONTROL", "HISTIGNORE"}
)
_URL_HOST = re.compile(r"(?i)^[a-z][a-z0-9+.-]*://(?:[^@/]*@)?\[?([^/:\]?#]+)")


def url_off_allowlist(walk: Walker, value: str) -> str | None:
    """The host a package index URL names when it is off the allowlist (or plain http), else None."""
    for piece in re.split(r"[\s,|]+", value):
        match = _URL_HOST.match(piece)
        if match is None:
            continue
        host = match.group(1).lower()
        if piece.lower().startswith("http://") and host not in ("localhost", "127.0.0.1"):
            return f"{host} over plain http"
        if not walk.policy.host_allowed(host) and host not in ("localhost", "127.0.0.1", "::1"):
            return host
    return None


def index_variable(walk: Walker, name: str, value: str | None) -> None:
    """An assignment (`export GOPROXY=…`, `PIP_INDEX_URL=… pip install`) of a package-index variable."""
    if name not in INDEX_VARIABLES:
        return
    if value is None:
        walk.add("shell.package_index", f"{name} is set to a value only known at run time")
        return
    lowered = value.strip().lower()
    if name in ("GONOSUMDB", "GONOSUMCHECK", "GOINSECURE") and lowered:
        walk.add("shell.package_index", f"{name}={value} turns off Go's checksum or TLS checks")
    elif name == "GOSUMDB" and lowered in ("off", ""):
        walk.add("shell.package_index", "GOSUMDB=off turns off Go's checksum database")
    elif name == "GOFLAGS" and "-insecure" in lowered:
        walk.add("shell.package_index", "GOFLAGS=-insecure fetches modules without TLS checks")
    elif name == "NODE_TLS_REJECT_UNAUTHORIZED" and lowered == "0":
        walk.add("shell.package_index", "NODE_TLS_REJECT_UNAUTHORIZED=0 turns off TLS checks")
    elif name == "GOPROXY" and "direct" in lowered.split(",") and url_off_allowlist(walk, value) is None:
        if lowered.split(",")[0] == "direct":
            walk.add("shell.package_index", "GOPROXY=direct fetches modules from any host, past the proxy")
    elif name == "PIP_TRUSTED_HOST" and lowered:
        walk.add("shell.package_index", f"PIP_TRUSTED_HOST={value} turns off TLS checks for that host")
    else:
        host = url_off_allowlist(walk, value)
        if host is not None:
            walk.add("shell.package_index", f"{name} points at {host}")


def history_variable(walk: Walker, name: str, value: str | None, unset: bool = False) -> None:
    if name not in HISTORY_VARIABLES:
        return
    if unset and name == "HISTFILE":
        walk.add("shell.erase_traces", "unset HISTFILE stops the shell recording its history")
    elif not unset and value is not None:
        if name == "HISTFILE" and (value in ("", "/dev/null") or value.startswith("/dev/")):
            walk.add(
                "shell.erase_traces", f"HISTFILE={value or '(empty)'} stops the shell recording its history"
            )
        elif name in ("HISTSIZE", "HISTFILESIZE", "SAVEHIST") and value.strip() in ("0", ""):
            walk.add("shell.erase_traces", f"{name}={value or '(empty)'} keeps no history")
        elif name == "HISTIGNORE" and value.strip() in ("*", "'*'"):
            walk.add("shell.erase_traces", "HISTIGNORE=* keeps no history")


def assignment(walk: Walker, name: str, value: str | None) -> None:
    """Every assignment the walker sees, bare or before a command or after export/declare/typeset."""
    index_variable(walk, name, value)
    history_variable(walk, name, value)
    if value is not None and SECRET_NAME.search(name) and looks_like_a_key(value):
        walk.add("shell.inline_secret", f"{name} is assigned a literal that looks like a real credential")


def looks_like_a_key(value: str) -> bool:
    """A literal random enough to be a real key: 16+ characters of letters and digits, no stand-in words."""
    from wave_events.redaction import is_placeholder, shannon_entropy

    token = value.strip("'\"")
    return (
        len(token) >= 16
        and " " not in token
        and "$" not in token
        and any(c.isdigit() for c in token)
        and any(c.isalpha() for c in token)
        and not is_placeholder(token)
        and shannon_entropy(token) >= 3.5
    )


def secret_expansions(words: list[str]) -> list[str]:
    """Secret-named variables whose value a word expands (not their length or whether they are set)."""
    names: list[str] = []
    for word in words:
        word = re.sub(r"'[^']*'", "", word) if '"' not in word else word  # '$TOKEN' is text, not its value
        for match in _EXPANSION.finditer(word):
            length, braced, modifier, bare = match.groups()
            name = braced or bare
            if length or (modifier or "").startswith((":+", "+", ":?", "?")):
                continue
            if SECRET_NAME.search(name):
                names.append(name)
    return list(dict.fromkeys(names))


# --- checkers --------------------------------------------------------------------------------------


def printer(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    """echo/printf of $API_KEY: the secret lands in the terminal, the log and the transcript."""
    names = secret_expansions(walk.spelled_words[1:])
    if names:
        facts.reads_secret = True
        walk.add("shell.secret_print", f"{name} prints ${names[0]}")


def reader(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    """cat/head/base64 of "$GOOGLE_APPLICATION_CREDENTIALS": a file named by a secret variable, or the value."""
    names = secret_expansions(walk.spelled_words[1:])
    if names:
        facts.reads_secret = True
        walk.add("shell.secret_print", f"{name} prints what ${names[0]} holds or names")


def set_variables(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    """`set`, `declare -p`, `export -p`, `compgen -v`: every variable, secrets included."""
    if not args or args in (["-p"], ["-x"], ["-px"], ["-v"]):
        facts.dumps_env = True


def printenv(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    positionals = [a for a in args if a is not None and not a.startswith("-")]
    secrets = [a for a in positionals if SECRET_NAME.search(a)]
    if secrets:
        facts.reads_secret = True
        walk.add("shell.secret_print", f"printenv prints {secrets[0]}")


def export(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    """export/declare/typeset/readonly/local NAME=value: the same checks as a bare assignment."""
    set_variables(walk, name, args, facts, inner)
    for arg in args:
        if arg is None or arg.startswith("-") or "=" not in arg:
            continue
        variable, _, value = arg.partition("=")
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", variable):
            assignment(walk, variable, value)
            walk.env[variable] = value


def unset(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    for arg in args:
        if arg is not None and not arg.startswith("-"):
            history_variable(walk, arg, None, unset=True)


def history(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    """`history -c` clears the list, `-d N` deletes entries, `-w /dev/null` writes it nowhere."""
    flags, positionals = split_options(args)
    letters = "".join(f.lstrip("-") for f in flags if not f.startswith("--"))
    if "c" in letters or "d" in letters:
        walk.add("shell.erase_traces", f"history {' '.join(sorted(flags))} erases the shell's history")
    elif "w" in letters and any(p is not None and p.startswith("/dev/") for p in positionals):
        walk.add("shell.erase_traces", "history -w onto a device discards the shell's history")


def set_(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    set_variables(walk, name, args, facts, inner)
    for i, arg in enumerate(args):
        if arg == "+o" and i + 1 < len(args) and args[i + 1] == "history":
            walk.add("shell.erase_traces", "set +o history stops the shell recording its history")


def journalctl(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    for arg in args:
        if arg is not None and arg.startswith("--vacuum-"):
            walk.add("shell.erase_traces", f"journalctl {arg.split('=')[0]} deletes system logs")
            return


def auditctl(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if "-D" in args:
        walk.add("shell.erase_traces", "auditctl -D deletes every audit rule")
    for i, arg in enumerate(args):
        if arg == "-e" and i + 1 < len(args) and args[i + 1] == "0":
            walk.add("shell.erase_traces", "auditctl -e 0 turns auditing off")


def dmesg(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    flags, _ = split_options(args)
    if flags & {"-c", "-C", "--clear", "--read-clear"}:
        walk.add("shell.erase_traces", "dmesg -c clears the kernel log")


def wevtutil(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if args and args[0] is not None and args[0].lower() in ("cl", "clear-log"):
        walk.add("shell.erase_traces", "wevtutil cl clears a Windows event log")


def erase_trace_file(walk: Walker, path: str, how: str) -> None:
    """A history file, a log or an audit record deleted, truncated or rewritten in place."""
    walk.add("shell.erase_traces", f"{how} {path}, which records what was done")


# --- services and firewalls -------------------------------------------------------------------------

_STOP_VERBS = frozenset({"stop", "disable", "mask", "kill", "isolate"})


def systemctl(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    shutdown_verbs = {"poweroff", "reboot", "halt", "kexec", "emergency", "rescue", "suspend", "hibernate"}
    _, positionals = split_options(
        args,
        frozenset(
            {
                "-H",
                "--host",
                "-M",
                "--machine",
                "-t",
                "--type",
                "-s",
                "--signal",
                "-p",
                "--property",
                "-n",
                "--lines",
                "-o",
                "--output",
            }
        ),
    )
    verb = positionals[0] if positionals else None
    if verb in shutdown_verbs:
        walk.add("shell.shutdown", f"systemctl {verb} stops the machine")
    elif verb in _STOP_VERBS:
        units = [u for u in positionals[1:] if u is not None] or ["a unit"]
        rule = "shell.firewall_off" if any(_security_unit(u) for u in units) else "shell.service_stop"
        walk.add(rule, f"systemctl {verb} {' '.join(units[:3])}")


def _security_unit(unit: str) -> bool:
    base = unit.removesuffix(".service").removesuffix(".socket")
    return base in {
        "firewalld",
        "ufw",
        "iptables",
        "ip6tables",
        "nftables",
        "apparmor",
        "auditd",
        "fail2ban",
        "selinux",
        "clamav-daemon",
        "clamd",
        "crowdstrike",
        "falcon-sensor",
        "osqueryd",
        "wazuh-agent",
        "rsyslog",
        "syslog",
        "systemd-journald",
    }


def service(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    """service NAME stop, rc-service NAME stop, invoke-rc.d NAME stop, update-rc.d NAME disable, chkconfig NAME off, sv down NAME."""
    positionals = [a for a in args if a is None or not a.startswith("-")]
    if name == "sv":
        verb, units = (positionals[0], positionals[1:]) if positionals else (None, [])
    elif name == "rc-update":
        verb, units = (positionals[0], positionals[1:]) if positionals else (None, [])
        verb = "disable" if verb in ("del", "delete") else verb
    else:
        units, verb = positionals[:1], positionals[1] if len(positionals) > 1 else None
    if verb in ("stop", "disable", "remove", "off", "down", "kill", "force-stop", "exit", "mask"):
        unit = units[0] if units and units[0] is not None else "a service"
        rule = "shell.firewall_off" if _security_unit(unit) else "shell.service_stop"
        walk.add(
            rule, f"{name} {unit} {verb}" if name not in ("sv", "rc-update") else f"{name} {verb} {unit}"
        )


_DAEMONS = frozenset(
    {
        "sshd", "nginx", "apache2", "httpd", "mysqld", "mariadbd", "postgres", "postmaster", "mongod", "redis-server",
        "dockerd", "containerd", "kubelet", "cron", "crond", "rsyslogd", "auditd", "systemd-journald", "firewalld",
        "sssd", "named", "haproxy", "etcd", "elasticsearch", "memcached", "php-fpm", "fail2ban-server", "falcon-sensor",
    }
)  # fmt: skip


def kill_daemon(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    """pkill/killall of a system daemon stops a service the same way `systemctl stop` does."""
    positionals = [a for a in args if a is not None and not a.startswith("-")]
    for target in positionals:
        if target in _DAEMONS:
            rule = (
                "shell.firewall_off"
                if _security_unit(target.rstrip("d"))
                or target in ("auditd", "rsyslogd", "firewalld", "falcon-sensor", "fail2ban-server")
                else "shell.service_stop"
            )
            walk.add(rule, f"{name} {target} stops a system service")
            return


def launchctl(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if args and args[0] in ("unload", "stop", "remove", "bootout", "disable", "kill"):
        walk.add("shell.service_stop", f"launchctl {args[0]} stops a service")


def init_script(walk: Walker, program: str, args: list[Arg]) -> None:
    """/etc/init.d/NAME stop."""
    if program.startswith("/etc/init.d/") and args and args[0] in ("stop", "force-stop"):
        unit = posixpath.basename(program)
        rule = "shell.firewall_off" if _security_unit(unit) else "shell.service_stop"
        walk.add(rule, f"{program} stop")


def iptables(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    for i, arg in enumerate(args):
        if arg is None:
            continue
        if arg in ("-F", "--flush", "-X", "--delete-chain") or (
            arg.startswith("-")
            and not arg.startswith("--")
            and set(arg[1:]) <= set("FXZt")
            and ("F" in arg or "X" in arg)
        ):
            walk.add("shell.firewall_off", f"{name} {arg} removes firewall rules")
            return
        if arg in ("-P", "--policy") and i + 2 < len(args) and args[i + 2] in ("ACCEPT", "accept"):
            walk.add("shell.firewall_off", f"{name} -P {args[i + 1]} ACCEPT lets all traffic through")
            return


def nft(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    words = [a.lower() for a in args if a is not None and not a.startswith("-")]
    text = " ".join(words)
    if re.search(r"\b(flush|delete)\s+(ruleset|table|chain)\b", text):
        walk.add("shell.firewall_off", f"nft {text[:60]} removes firewall rules")


def ufw(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    words = [a.lower() for a in args if a is not None and not a.startswith("-")]
    if words[:1] in (["disable"], ["reset"]) or words[:2] in (["default", "allow"],):
        walk.add("shell.firewall_off", f"ufw {' '.join(words[:3])} opens the firewall")


def firewall_cmd(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    for arg in args:
        if arg is not None and arg.startswith("--set-default-zone=trusted"):
            walk.add("shell.firewall_off", "firewall-cmd trusts every connection by default")


def setenforce(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if args and args[0] is not None and args[0].lower() in ("0", "permissive"):
        walk.add("shell.firewall_off", "setenforce 0 switches SELinux to permissive")


def apparmor(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if name in ("aa-disable", "aa-teardown", "aa-complain") or (
        name == "apparmor_parser" and {"-R", "--remove"} & set(a for a in args if a)
    ):
        walk.add("shell.firewall_off", f"{name} turns AppArmor protection off")


def pfctl(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if "-d" in args or "-F" in args:
        walk.add("shell.firewall_off", f"pfctl {'-d' if '-d' in args else '-F'} turns the packet filter off")


def macos_security(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    words = [a.lower() for a in args if a is not None]
    if (name == "spctl" and ("--master-disable" in words or "--global-disable" in words)) or (
        name == "csrutil" and "disable" in words
    ):
        walk.add("shell.firewall_off", f"{name} turns off a system protection")


def netsh(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    words = [a.lower() for a in args if a is not None]
    if "advfirewall" in words and "off" in words:
        walk.add("shell.firewall_off", "netsh advfirewall … state off turns the Windows firewall off")


def sysctl(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    for arg in args:
        if arg is not None and re.fullmatch(r"kernel\.randomize_va_space\s*=\s*0", arg):
            walk.add("shell.firewall_off", "sysctl turns off address-space randomisation")


# --- users and privileges ---------------------------------------------------------------------------

_ROOT_GROUPS = frozenset({"root", "sudo", "wheel", "admin", "adm", "docker", "lxd", "disk", "shadow"})


def su(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    """`su`, `su -`, `su root`: an interactive root shell. With a command (`-c`, or words after the user)
    it runs that command, which is walked; another user's shell is only noted."""
    value_options = frozenset(
        {"-c", "--command", "-s", "--shell", "-g", "--group", "-G", "--supp-group", "-w", "--session-command"}
    )
    _, positionals = split_options(args, value_options)
    positionals = [p for p in positionals if p != "-"]
    has_command = False
    for i, arg in enumerate(args):
        if arg is None or not arg.startswith("-"):
            continue
        command: Arg = None
        if arg in ("-c", "--command", "--session-command") or (not arg.startswith("--") and "c" in arg[1:]):
            has_command = True
            command = args[i + 1] if i + 1 < len(args) else None
        elif arg.startswith(("--command=", "--session-command=")):
            has_command = True
            command = arg.split("=", 1)[1]
        if has_command:
            if command is not None:
                facts.absorb(walk.script(command))
            break
    user = positionals[0] if positionals and positionals[0] is not None else "root"
    if has_command or len(positionals) > 1 or user != "root":
        walk.add("shell.privileged", f"runs as {user} with su")
        return
    walk.add("shell.root_shell", "su opens a shell as root")


def elevated_shell(walk: Walker, name: str, args: list[Arg]) -> bool:
    """A shell started under sudo/doas with no program to run: an interactive root shell."""
    if not walk.elevated or name not in SHELLS or walk.stdin_piped or walk.stdin_text is not None:
        return False
    positionals = [a for a in args if a is None or not a.startswith("-")]
    return not positionals and not any(
        a is not None and "c" in a.lstrip("-") and not a.startswith("--") for a in args
    )


def user_admin(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    """useradd/usermod/adduser/groupadd/gpasswd: a uid 0 (or duplicate uid) account, or a root-equivalent group."""
    for i, arg in enumerate(args):
        if arg is None:
            continue
        value = args[i + 1] if i + 1 < len(args) else None
        if arg in ("-u", "--uid") and value == "0" or arg in ("--uid=0",):
            walk.add("shell.privilege_grant", f"{name} gives an account uid 0 (root)")
            return
        if arg in ("-o", "--non-unique") and name in ("useradd", "usermod", "groupadd", "groupmod"):
            walk.add("shell.privilege_grant", f"{name} -o lets an account share another's uid")
            return
        if arg in ("-g", "--gid") and value == "0" and name in ("useradd", "usermod"):
            walk.add("shell.privilege_grant", f"{name} puts an account in group 0 (root)")
            return
        if arg in ("-G", "--groups", "-aG", "-Ga", "--append") or (
            arg.startswith("-") and "G" in arg and not arg.startswith("--")
        ):
            if value is not None and _ROOT_GROUPS & set(value.split(",")):
                group = sorted(_ROOT_GROUPS & set(value.split(",")))[0]
                walk.add("shell.privilege_grant", f"{name} adds an account to the {group} group")
                return
    positionals = [a for a in args if a is not None and not a.startswith("-")]
    if name in ("gpasswd",) and ("-a" in args or "-M" in args) and _ROOT_GROUPS & set(positionals):
        walk.add(
            "shell.privilege_grant",
            f"gpasswd adds an account to the {sorted(_ROOT_GROUPS & set(positionals))[0]} group",
        )
    if name in ("adduser", "addgroup") and len(positionals) >= 2 and positionals[-1] in _ROOT_GROUPS:
        walk.add("shell.privilege_grant", f"{name} adds an account to the {positionals[-1]} group")


def passwd(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    flags, positionals = split_options(args)
    if (
        name == "chpasswd"
        or flags & {"-d", "--delete"}
        or "root" in positionals
        or (walk.elevated and not positionals and not flags)
    ):
        walk.add(
            "shell.privilege_grant",
            f"{name} changes {'root' if 'root' in positionals else 'an account'}'s password",
        )


def visudo(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if "-c" in args or "--check" in args:
        return
    walk.add("shell.privilege_grant", "visudo edits who may run commands as root")


def setcap(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if "-r" in args or "-v" in args:
        return
    caps = next((a for a in args if a is not None and not a.startswith("-")), "capabilities")
    walk.add("shell.privilege_grant", f"setcap gives a program {caps}")


def special_bits(mode: str) -> str | None:
    """ "setuid" or "setgid" when a chmod/install mode sets that bit (4755, u+s, +s; 2775, g+s), else None."""
    if re.fullmatch(r"0*[0-7]{4,5}", mode):
        bits = int(mode.lstrip("0") or "0", 8)
        return "setuid" if bits & 0o4000 else "setgid" if bits & 0o2000 else None
    for part in mode.split(","):
        match = re.fullmatch(r"([ugoa]*)[+=][rwxXt]*s[rwxXst]*", part)
        if match:
            who = match.group(1)
            return "setuid" if not who or "u" in who or "a" in who else "setgid" if "g" in who else None
    return None


def setuid_mode(mode: str) -> bool:
    return special_bits(mode) is not None


def chmod_setuid(walk: Walker, name: str, mode: Arg, target: str) -> None:
    bit = special_bits(mode) if mode is not None else None
    if bit == "setuid":
        walk.add(
            "shell.privilege_grant", f"{name} {mode} sets the setuid bit on {target}: it runs as its owner"
        )
    elif bit == "setgid":
        walk.add("shell.setgid", f"{name} {mode} sets the setgid bit on {target}")


# --- miners and detached processes ------------------------------------------------------------------


def miner_arguments(walk: Walker, name: str, args: list[Arg]) -> None:
    if name.lower() in MINERS:
        walk.add("shell.crypto_miner", f"{name} is a cryptocurrency miner")
        return
    for arg in args:
        if arg is None:
            continue
        image = posixpath.basename(arg.split("@")[0].split(":")[0]).lower()  # metal3d/xmrig:latest
        if (image in MINERS and name in _CONTAINER_RUNNERS) or (
            _POOL_HOST.search(arg) and name not in _LOOKERS
        ):
            walk.add("shell.crypto_miner", f"{name} runs or reaches a cryptocurrency miner ({arg[:60]})")
            return
        stratum = _STRATUM.search(arg)
        if stratum or arg.split("=")[0] in _MINER_OPTIONS:
            what = (
                f"connects to a mining pool ({stratum.group(0)})"
                if stratum
                else f"takes the miner option {arg}"
            )
            walk.add("shell.crypto_miner", f"{name} {what}")
            return


def detached(walk: Walker, name: str, how: str) -> None:
    walk.add("shell.detached_process", f"{how} keeps {name} running after the action ends")


def systemd_run(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    detached(walk, "a transient service", name)


def screen(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    flags = [a for a in args if a is not None and a.startswith("-")]
    if any(not f.startswith("--") and "d" in f and ("m" in f or "-m" in args) for f in flags):
        rest = _after_options(
            args, frozenset({"-S", "-L", "-Logfile", "-c", "-e", "-h", "-p", "-s", "-t", "-T"})
        )
        detached(walk, rest[0] or "a command" if rest else "a shell", "screen -dm")
        if rest:
            facts.absorb(walk.run(rest, [], Facts()))


def tmux(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if not args or args[0] not in ("new", "new-session", "new-window", "neww", "split-window", "splitw"):
        return
    flags = [a for a in args[1:] if a is not None and a.startswith("-")]
    if args[0] in ("new", "new-session") and not any("d" in f for f in flags if not f.startswith("--")):
        return
    rest = _after_options(args[1:], frozenset({"-s", "-n", "-t", "-c", "-x", "-y", "-e", "-F", "-f", "-l"}))
    detached(walk, rest[0] or "a command" if rest else "a shell", f"tmux {args[0]} -d")
    if rest:
        if len(rest) == 1 and rest[0] is not None:
            facts.absorb(walk.script(rest[0]))
        else:
            facts.absorb(walk.run(rest, [], Facts()))


def at(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if {"-l", "-r", "-d", "-c"} & set(a for a in args if a):
        return
    detached(walk, "commands", name)


def daemonize(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if name == "start-stop-daemon" and not ({"-b", "--background"} & set(a for a in args if a)):
        return
    detached(walk, "a program", name)


def _after_options(args: list[Arg], with_value: frozenset[str]) -> list[Arg]:
    i = 0
    while i < len(args) and args[i] is not None and args[i].startswith("-"):  # type: ignore[union-attr]
        option: str = args[i]  # type: ignore[assignment]
        if option in with_value or (not option.startswith("--") and "-" + option[-1] in with_value):
            i += 1
        i += 1
    return args[i:]


def keyring(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    """Keychains, keyrings, password stores and secrets managers asked to print a secret."""
    words = [a for a in args if a is not None]
    lowered = [w.lower() for w in words]
    shown = None
    if name == "security" and lowered[:1] and re.fullmatch(r"find-(generic|internet)-password", lowered[0]):
        if {"-w", "-g"} & set(lowered):
            shown = f"security {lowered[0]} prints a keychain password"
    elif name == "security" and lowered[:1] == ["dump-keychain"] and "-d" in lowered:
        shown = "security dump-keychain -d prints every keychain secret"
    elif name == "secret-tool" and lowered[:1] == ["lookup"]:
        shown = "secret-tool lookup prints a keyring secret"
    elif name in ("gpg", "gpg2") and any(w.startswith("--export-secret") for w in lowered):
        shown = "gpg exports secret keys"
    elif name == "pass" and (
        lowered[:1] == ["show"]
        or (
            lowered
            and not lowered[0].startswith("-")
            and lowered[0]
            not in (
                "ls",
                "list",
                "find",
                "search",
                "init",
                "insert",
                "edit",
                "generate",
                "rm",
                "mv",
                "cp",
                "git",
                "grep",
                "help",
                "version",
            )
        )
    ):
        shown = "pass prints a stored password"
    elif name == "op" and (
        lowered[:1] == ["read"]
        or ("--reveal" in lowered)
        or lowered[:2] == ["item", "get"]
        and "--fields" in " ".join(lowered)
    ):
        shown = "op prints a 1Password secret"
    elif (
        name == "vault"
        and lowered[:1] in (["read"], ["kv"])
        and ("get" in lowered[:2] or lowered[0] == "read")
    ):
        shown = "vault prints a secret"
    elif name == "aws" and lowered[:2] in (
        ["secretsmanager", "get-secret-value"],
        ["ssm", "get-parameter"],
        ["ssm", "get-parameters"],
        ["ssm", "get-parameters-by-path"],
    ):
        if lowered[0] == "secretsmanager" or "--with-decryption" in lowered:
            shown = f"aws {lowered[0]} {lowered[1]} prints a secret"
    elif (
        name == "aws"
        and lowered[:2] == ["configure", "get"]
        and any("secret" in w or "key" in w for w in lowered[2:])
    ):
        shown = "aws configure get prints a credential"
    elif name == "aws" and lowered[:2] == ["configure", "export-credentials"]:
        shown = "aws configure export-credentials prints credentials"
    elif name == "gcloud" and (
        "secrets" in lowered
        and "access" in lowered
        or lowered[:3] in (["auth", "print-access-token"], ["auth", "print-identity-token"])
        or lowered[:2] in (["auth", "print-access-token"], ["auth", "print-identity-token"])
    ):
        shown = "gcloud prints a secret or an access token"
    elif name == "az" and "keyvault" in lowered and "secret" in lowered and "show" in lowered:
        shown = "az keyvault secret show prints a secret"
    elif name == "az" and lowered[:2] == ["account", "get-access-token"]:
        shown = "az account get-access-token prints a token"
    elif (
        name == "kubectl"
        and lowered[:1] == ["get"]
        and any(w in ("secret", "secrets") or w.startswith("secret/") for w in lowered[1:3])
    ):
        if any(
            w in ("yaml", "json", "-oyaml", "-ojson")
            or w.startswith(("-o=", "--output=", "jsonpath", "-ojsonpath", "go-template"))
            for w in lowered
        ):
            shown = "kubectl get secret -o prints a secret's value"
    elif name == "gh" and lowered[:2] == ["auth", "token"]:
        shown = "gh auth token prints the GitHub token"
    elif name == "glab" and lowered[:2] == ["auth", "status"] and "--show-token" in lowered:
        shown = "glab auth status --show-token prints the GitLab token"
    elif (
        name == "heroku"
        and lowered[:1] in (["auth:token"], ["config"], ["config:get"])
        and lowered[:1] != ["config"]
    ):
        shown = "heroku prints a token or a config secret"
    elif name == "keyring" and lowered[:1] == ["get"]:
        shown = "keyring get prints a stored password"
    elif name == "keyctl" and lowered[:1] in (["print"], ["pipe"], ["read"]):
        shown = f"keyctl {lowered[0]} prints a kernel keyring secret"
    elif name == "git" and lowered[:2] == ["credential", "fill"]:
        shown = "git credential fill prints stored credentials"
    elif name == "docker" and lowered[:2] == ["secret", "inspect"]:
        shown = None
    if shown:
        facts.reads_secret = True
        walk.add("shell.secret_print", shown)


def grep(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    """`env | grep -i token`: notes that the pattern selects credentials for the pipeline rule."""
    for arg in args:
        if (
            arg is not None
            and not arg.startswith("--")
            and re.search(
                r"(?i)(secret|token|pass|key|credential|private|auth|aws|azure|gcp|google|github|gh_|openai|anthropic|stripe|npm_|slack|dsn|_url)",
                arg,
            )
        ):
            facts.selects_secrets = True
