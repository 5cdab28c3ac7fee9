"""What the shell analyser knows about programs' command lines: which programs belong to which family,
and which of their options take a value (so the value is not mistaken for a file or a host)."""

from __future__ import annotations

Arg = str | None  # None: a word whose value is only known at run time

SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "ash", "mksh", "fish", "busybox-sh"})
INTERPRETERS = frozenset({"python", "python2", "python3", "perl", "ruby", "node", "php", "lua", "Rscript"})
DOWNLOADERS = frozenset({"curl", "wget", "fetch", "aria2c", "http", "https", "lynx", "links"})
RAW_SOCKETS = frozenset({"nc", "ncat", "netcat", "socat", "telnet"})
NETWORK_TOOLS = (
    DOWNLOADERS | RAW_SOCKETS | frozenset({"ssh", "scp", "sftp", "rsync", "ftp", "tftp", "sshpass"})
)
ENV_DUMPERS = frozenset({"env", "printenv"})
# Programs that name a key file without printing it.
KEY_USERS = frozenset(
    {
        "ls",
        "stat",
        "test",
        "[",
        "chmod",
        "chown",
        "chgrp",
        "ssh-keygen",
        "ssh-add",
        "ssh",
        "ssh-copy-id",
        "file",
        "touch",
        "rm",
        "mkdir",
        "find",
        "ln",
        "git",
        "unlink",
        "shred",
        "sshpass",
        "scp",
        "sftp",
        "rsync",
        "curl",
        "wget",
        "openssl",
        "keytool",
        "kubectl",
        "helm",
        "docker",
        "gcloud",
        "aws",
        "az",
    }
)
WRAPPERS_OPTION_VALUES: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-h", "-p", "-C", "-r", "-t", "-U", "-D", "-R", "-T"}),
    "doas": frozenset({"-u", "-C"}),
    "pkexec": frozenset({"--user"}),
    "run0": frozenset({"--user", "-u"}),
    "nice": frozenset({"-n"}),
    "ionice": frozenset({"-c", "-n", "-p", "-t"}),
    "nohup": frozenset(),
    "time": frozenset({"-f", "-o"}),
    "command": frozenset(),
    "builtin": frozenset(),
    "exec": frozenset({"-a"}),
    "setsid": frozenset(),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
    "unbuffer": frozenset(),
    "chronic": frozenset(),
    "torsocks": frozenset(),
    "proxychains": frozenset({"-f"}),
    "proxychains4": frozenset({"-f"}),
    "xargs": frozenset(
        {
            "-I",
            "-i",
            "-n",
            "-P",
            "-d",
            "-L",
            "-l",
            "-s",
            "-E",
            "-e",
            "-a",
            "--arg-file",
            "--delimiter",
            "--max-args",
            "--max-procs",
            "--replace",
        }
    ),
    "timeout": frozenset({"-s", "-k", "--signal", "--kill-after"}),
    "watch": frozenset({"-n", "-d", "--interval"}),
    "flock": frozenset({"-w", "-E", "-c"}),
    "chroot": frozenset({"--userspec", "--groups"}),
    "strace": frozenset({"-o", "-e", "-p", "-s"}),
    "ltrace": frozenset({"-o", "-e", "-p", "-s"}),
}
# Wrappers whose first positional is not the program (a duration, a lock file, a new root).
WRAPPER_LEADING_POSITIONALS = {"timeout": 1, "flock": 1, "chroot": 1}
SUDO_LIKE = frozenset({"sudo", "doas", "pkexec", "run0"})
SHUTDOWN = frozenset({"shutdown", "reboot", "halt", "poweroff"})
DISK_TOOLS = frozenset(
    {"wipefs", "fdisk", "sfdisk", "cfdisk", "parted", "sgdisk", "gdisk", "blkdiscard", "mkswap", "mke2fs"}
)
WRITERS_LAST_ARG = frozenset({"cp", "mv", "install", "ln", "rsync", "rename"})
WRITERS_ALL_ARGS = frozenset({"touch", "mkdir", "truncate", "tee"})
FIND_TESTS = frozenset(
    {
        "-name",
        "-iname",
        "-path",
        "-ipath",
        "-regex",
        "-iregex",
        "-newer",
        "-mtime",
        "-mmin",
        "-atime",
        "-amin",
        "-ctime",
        "-cmin",
        "-size",
        "-user",
        "-group",
        "-perm",
        "-empty",
        "-inum",
        "-wholename",
        "-type",
        "-links",
        "-nouser",
        "-nogroup",
        "-samefile",
        "-lname",
        "-ilname",
    }
)
SQL_CLIENTS = {
    "psql": ("-c", "--command"),
    "mysql": ("-e", "--execute"),
    "mariadb": ("-e", "--execute"),
    "duckdb": ("-c",),
    "cqlsh": ("-e", "--execute"),
    "clickhouse-client": ("-q", "--query"),
    "clickhouse": ("-q", "--query"),
    "cockroach": ("-e", "--execute"),
    "sqlcmd": ("-Q", "-q"),
    "snowsql": ("-q", "--query"),
    "mysqlsh": ("-e", "--execute"),
    "vsql": ("-c", "--command"),
    "trino": ("--execute",),
}
CURL_VALUE_OPTIONS = frozenset(
    {
        "-o",
        "--output",
        "-d",
        "--data",
        "--data-raw",
        "--data-binary",
        "--data-urlencode",
        "-H",
        "--header",
        "-X",
        "--request",
        "-u",
        "--user",
        "-A",
        "--user-agent",
        "-e",
        "--referer",
        "-F",
        "--form",
        "-T",
        "--upload-file",
        "-x",
        "--proxy",
        "-w",
        "--write-out",
        "-b",
        "--cookie",
        "-c",
        "--cookie-jar",
        "-K",
        "--config",
        "-r",
        "--range",
        "-m",
        "--max-time",
        "--connect-timeout",
        "--retry",
        "-C",
        "--continue-at",
        "-E",
        "--cert",
        "--key",
        "--cacert",
        "--resolve",
        "--limit-rate",
        "-Y",
        "-y",
        "-z",
        "--time-cond",
        "--json",
        "-U",
        "--proxy-user",
        "--output-dir",
        "--max-redirs",
        "--retry-delay",
        "--retry-max-time",
        "--interface",
    }
)
WGET_VALUE_OPTIONS = frozenset(
    {
        "-O",
        "--output-document",
        "-o",
        "--output-file",
        "-a",
        "--append-output",
        "-P",
        "--directory-prefix",
        "-U",
        "--user-agent",
        "-t",
        "--tries",
        "-T",
        "--timeout",
        "-w",
        "--wait",
        "-e",
        "--execute",
        "-i",
        "--input-file",
        "--header",
        "--post-data",
        "--post-file",
        "--body-data",
        "--body-file",
        "--method",
        "--user",
        "--password",
        "-l",
        "--level",
        "-A",
        "--accept",
        "-R",
        "--reject",
        "-D",
        "--domains",
        "-Q",
        "--quota",
        "--limit-rate",
        "-nd",
        "--cut-dirs",
        "-X",
        "--exclude-directories",
    }
)
SSH_VALUE_OPTIONS = frozenset(
    {
        "-i",
        "-p",
        "-l",
        "-o",
        "-F",
        "-L",
        "-R",
        "-D",
        "-J",
        "-W",
        "-b",
        "-c",
        "-E",
        "-e",
        "-m",
        "-O",
        "-Q",
        "-S",
        "-w",
        "-B",
        "-I",
        "-P",
    }
)
NC_VALUE_OPTIONS = frozenset(
    {"-p", "-w", "-s", "-e", "-c", "-x", "-i", "-q", "-X", "-W", "-I", "-O", "-T", "-V"}
)
# cp, mv, install, ln, rsync, rename: options whose value is not a source or target path
COPY_VALUE_OPTIONS = frozenset(
    {
        "-t",
        "--target-directory",
        "-S",
        "--suffix",
        "-m",
        "--mode",
        "-o",
        "--owner",
        "-g",
        "--group",
        "-e",
        "--rsh",
        "--exclude",
        "--include",
        "--filter",
        "-f",
    }
)


def split_options(args: list[Arg], with_value: frozenset[str] = frozenset()) -> tuple[set[str], list[Arg]]:
    """Options (without their values) and positionals; everything after `--` is positional."""
    flags: set[str] = set()
    positionals: list[Arg] = []
    i = 0
    only_positionals = False
    while i < len(args):
        arg = args[i]
        if only_positionals or arg is None or not arg.startswith("-") or arg == "-":
            positionals.append(arg)
        elif arg == "--":
            only_positionals = True
        else:
            flags.add(arg.split("=", 1)[0] if arg.startswith("--") else arg)
            # `-rave VALUE`: a bundle of short flags takes a value when its last flag does
            if arg in with_value or (
                not arg.startswith("--") and len(arg) > 2 and "-" + arg[-1] in with_value
            ):
                i += 1
        i += 1
    return flags, positionals
