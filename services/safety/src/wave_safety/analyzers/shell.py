"""Shell commands, parsed with bashlex and walked node by node.

Every simple command is found wherever it hides — pipelines, lists, subshells, functions, loops, command
and process substitution — then unwrapped (sudo, env, nohup, timeout, xargs, …) until the program that
really runs is known. Strings that become code (`sh -c`, `bash -c`, `eval`, `echo … | sh`) are parsed
again, recursively. Variables assigned a literal earlier in the script, and `$(echo …)`, are expanded so
spelling a command in pieces does not hide it. What cannot be known statically is reported, not guessed.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import bashlex
import bashlex.errors

from ..policy import SafetyPolicy
from ..rules import Finding
from .git import GitContext, git_findings
from .network import host_of_login, host_of_remote_path, host_of_url, is_loopback
from .paths import Place, classify, is_credential_file, resolve, runs_code
from .secrets import secret_kinds

# What bashlex raises on text it cannot read: ParsingError (and its MatchedPairError) for bad syntax,
# NotImplementedError for constructs it does not support, and AttributeError or TypeError from its own
# code on some malformed input (found by mutating nl2bash commands). Each means "not understood".
_PARSE_FAILURES = (bashlex.errors.ParsingError, NotImplementedError, AttributeError, TypeError, RecursionError)

Arg = str | None  # None: a word whose value is only known at run time

MAX_DEPTH = 8
MAX_COMMAND_CHARS = 100_000

SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "ash", "mksh", "fish", "busybox-sh"})
INTERPRETERS = frozenset({"python", "python2", "python3", "perl", "ruby", "node", "php", "lua", "Rscript"})
DOWNLOADERS = frozenset({"curl", "wget", "fetch", "aria2c", "http", "https", "lynx", "links"})
RAW_SOCKETS = frozenset({"nc", "ncat", "netcat", "socat", "telnet"})
NETWORK_TOOLS = (
    DOWNLOADERS | RAW_SOCKETS | frozenset({"ssh", "scp", "sftp", "rsync", "ftp", "tftp", "sshpass"})
)
ENV_DUMPERS = frozenset({"env", "printenv"})
# Programs that name a key file without printing it.
_KEY_USERS = frozenset(
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
_WRAPPERS_OPTION_VALUES: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-h", "-p", "-C", "-r", "-t", "-U", "-D", "-R", "-T"}),
    "doas": frozenset({"-u", "-C"}),
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
_WRAPPER_LEADING_POSITIONALS = {"timeout": 1, "flock": 1, "chroot": 1}
_SUDO_LIKE = frozenset({"sudo", "doas"})
_SHUTDOWN = frozenset({"shutdown", "reboot", "halt", "poweroff"})
_DISK_TOOLS = frozenset(
    {"wipefs", "fdisk", "sfdisk", "cfdisk", "parted", "sgdisk", "gdisk", "blkdiscard", "mkswap", "mke2fs"}
)
_WRITERS_LAST_ARG = frozenset({"cp", "mv", "install", "ln", "rsync", "rename"})
_WRITERS_ALL_ARGS = frozenset({"touch", "mkdir", "truncate", "tee"})
_FIND_TESTS = frozenset(
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
_SECRET_VAR = re.compile(r"(?i)(secret|token|passw|api_?key|access_?key|credential|private_?key)")
_REVERSE_SHELL_CODE = re.compile(r"(?is)socket.*(subprocess|pty\.spawn|dup2|/bin/(ba)?sh|exec\()")
_SQL_CLIENTS = {
    "psql": ("-c", "--command"),
    "mysql": ("-e", "--execute"),
    "mariadb": ("-e", "--execute"),
    "duckdb": ("-c",),
}
_CURL_VALUE_OPTIONS = frozenset(
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
_WGET_VALUE_OPTIONS = frozenset(
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
_SSH_VALUE_OPTIONS = frozenset(
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
_NC_VALUE_OPTIONS = frozenset(
    {"-p", "-w", "-s", "-e", "-c", "-x", "-i", "-q", "-X", "-W", "-I", "-O", "-T", "-V"}
)


@dataclass
class _Facts:
    """What a command (or pipeline stage) does with its output, as far as the rules care."""

    downloads: bool = False  # writes content fetched from the network to stdout
    reads_secret: bool = False  # writes a credential's content to stdout
    dumps_env: bool = False  # writes the process environment to stdout
    network: bool = False  # sends what it reads over the network
    raw_socket: bool = False  # nc, socat, telnet: a bare socket a shell can be wired to
    stdin_program: bool = False  # a shell or interpreter that runs the program it reads on stdin
    posix_stdin_shell: bool = False
    literal_output: str | None = None  # echo/printf of literal text

    def absorb(self, other: _Facts) -> None:
        self.downloads |= other.downloads
        self.reads_secret |= other.reads_secret
        self.dumps_env |= other.dumps_env
        self.network |= other.network
        self.raw_socket |= other.raw_socket
        self.stdin_program |= other.stdin_program


@dataclass
class ShellScan:
    """The outcome of analysing one command line: findings, and every program it runs."""

    findings: list[Finding] = field(default_factory=list)
    programs: set[str] = field(default_factory=set)


def analyze_shell(command: str, policy: SafetyPolicy, worktree: str = ".") -> ShellScan:
    walker = _Walker(policy, worktree)
    if len(command) > MAX_COMMAND_CHARS:
        walker.add(
            "shell.unparseable",
            f"command is {len(command)} characters long; the analyser stops at {MAX_COMMAND_CHARS}",
        )
        return walker.scan
    for hit in secret_kinds(command):
        if not hit.generic:
            walker.add("shell.inline_secret", f"the command line contains a {hit.kind}")
    walker.script(command)
    return walker.scan


class _Walker:
    def __init__(self, policy: SafetyPolicy, worktree: str) -> None:
        self.policy = policy
        self.worktree = worktree
        self.scan = ShellScan()
        self.env: dict[str, str] = {"HOME": "~"}
        self.cwd = "."
        self.git = GitContext()
        self.depth = 0
        self.sources: list[str] = []
        self.raw_words: list[str] = []
        self.fed_by_xargs = False

    def add(self, rule: str, detail: str) -> None:
        self.scan.findings.append(Finding(rule, detail))

    # --- parsing -----------------------------------------------------------------------------

    def script(self, text: str) -> _Facts:
        """Parse `text` as a script and walk it; unparseable text is escalated, never waved through."""
        if self.depth > MAX_DEPTH:
            self.add("shell.too_deep", f"code nested more than {MAX_DEPTH} levels deep (sh -c / eval)")
            return _Facts()
        if not text.strip():
            return _Facts()
        try:
            trees = bashlex.parse(text)
        except _PARSE_FAILURES as exc:
            reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
            self.add("shell.unparseable", f"could not parse as shell ({reason}): {_excerpt(text)}")
            return _Facts()
        self.depth += 1
        self.sources.append(text)
        try:
            facts = _Facts()
            for tree in trees:
                facts.absorb(self.visit(tree))
            return facts
        finally:
            self.sources.pop()
            self.depth -= 1

    # --- the tree ----------------------------------------------------------------------------

    def visit(self, node: object) -> _Facts:
        kind = getattr(node, "kind", None)
        if kind == "command":
            return self.command(node)
        if kind == "pipeline":
            return self.pipeline([p for p in node.parts if p.kind != "pipe"])  # type: ignore[attr-defined]
        if kind == "function":
            return self.function(node)
        if kind in ("commandsubstitution", "processsubstitution"):
            return self.visit(node.command)  # type: ignore[attr-defined]
        facts = _Facts()
        if kind == "compound":
            for child in node.list:  # type: ignore[attr-defined]
                facts.absorb(self.visit(child))
            for redirect in getattr(node, "redirects", []) or []:
                self.redirect(redirect, None)
            return facts
        if kind == "word":
            for sub in _substitutions(node):
                facts.absorb(self.visit(sub))
            return facts
        for child in getattr(node, "parts", []) or []:
            facts.absorb(self.visit(child))
        return facts

    def function(self, node: object) -> _Facts:
        name = node.parts[0].word  # type: ignore[attr-defined]
        body = node.parts[-1]  # type: ignore[attr-defined]
        before = set(self.scan.programs)
        self.scan.programs.discard(name)
        self.visit(body)
        if name in self.scan.programs and _forks(body):
            self.add(
                "shell.fork_bomb", f"function {name!r} spawns copies of itself in a pipe or the background"
            )
        self.scan.programs |= before
        return _Facts()

    def pipeline(self, stages_nodes: list[object]) -> _Facts:
        stages = [self.visit(node) for node in stages_nodes]
        for j in range(1, len(stages)):
            consumer = stages[j]
            upstream = _Facts()
            for stage in stages[:j]:
                upstream.absorb(stage)
            if consumer.stdin_program:
                literal = stages[j - 1].literal_output
                if upstream.downloads:
                    self.add("shell.pipe_to_shell", "downloaded content is piped into a shell or interpreter")
                elif literal is not None and consumer.posix_stdin_shell:
                    self.script(literal)
                else:
                    self.add("shell.stdin_to_shell", "a shell or interpreter runs a program read from a pipe")
            if consumer.network and (upstream.reads_secret or upstream.dumps_env):
                what = "credentials" if upstream.reads_secret else "the environment"
                self.add("shell.secret_exfiltration", f"{what} piped into a network command")
        if len(stages) > 1 and any(s.raw_socket for s in stages) and any(s.stdin_program for s in stages):
            self.add("shell.reverse_shell", "a shell is wired to a raw network socket through a pipe")
        merged = _Facts()
        for stage in stages:
            merged.absorb(stage)
        merged.stdin_program = stages[0].stdin_program if stages else False
        return merged

    def command(self, node: object) -> _Facts:
        parts = node.parts  # type: ignore[attr-defined]
        words = [p for p in parts if p.kind == "word"]
        assignments = [p for p in parts if p.kind == "assignment"]
        redirects = [p for p in parts if p.kind == "redirect"]
        inner = _Facts()
        for part in (*assignments, *words):
            for sub in _substitutions(part):
                inner.absorb(self.visit(sub))
        if not words:
            for assignment in assignments:
                name, _, _ = assignment.word.partition("=")
                value = self.expand(assignment, strip_prefix=len(name) + 1)
                if value is None:
                    self.env.pop(name, None)
                else:
                    self.env[name] = value
            for redirect in redirects:
                self.redirect(redirect, None)
            return inner
        argv: list[Arg] = []
        source = self.sources[-1] if self.sources else ""
        for w in words:
            value = self.expand(w)
            spelled = source[w.pos[0] : w.pos[1]]
            if (
                value is not None
                and "$" in spelled
                and spelled[:1] not in ("'", '"')
                and len(value.split()) > 1
            ):
                argv.extend(value.split())  # an unquoted expansion is split into words
            else:
                argv.append(value)
        facts = self.run(argv, words, inner)
        for redirect in redirects:
            self.redirect(redirect, argv[0])
        return facts

    def expand(self, word: object, strip_prefix: int = 0) -> Arg:
        """The word's value if it is known statically: literals, literal variables and $(echo …)."""
        text: str = word.word  # type: ignore[attr-defined]
        source = self.sources[-1] if self.sources else ""
        for part in sorted(getattr(word, "parts", []) or [], key=lambda p: -p.pos[0]):
            if part.kind == "tilde":
                continue
            if part.kind == "parameter":
                value = self.env.get(part.value)
                if value is None:
                    return _unknown(word)
                for spelling in ("${" + part.value + "}", "$" + part.value):
                    if spelling in text:
                        text = text.replace(spelling, value, 1)
                        break
                else:
                    return None
            elif part.kind in ("commandsubstitution", "processsubstitution"):
                output = _echo_output(part.command) if part.kind == "commandsubstitution" else None
                spelled = source[part.pos[0] : part.pos[1]]
                if output is None or spelled not in text:
                    return _unknown(word)
                text = text.replace(spelled, output, 1)
            else:
                return _unknown(word)
        return text[strip_prefix:]

    # --- one program -------------------------------------------------------------------------

    def run(self, argv: list[Arg], words: list[object], inner: _Facts) -> _Facts:
        """Apply the rules to one simple command, after peeling wrappers such as sudo and env."""
        facts = _Facts()
        facts.absorb(
            _Facts(downloads=inner.downloads, reads_secret=inner.reads_secret, dumps_env=inner.dumps_env)
        )
        self.fed_by_xargs = False
        argv = self.unwrap(argv)
        if not argv:
            return facts
        program = argv[0]
        if program is None:
            spelled = words[0].word if words else "?"  # type: ignore[attr-defined]
            self.add(
                "shell.dynamic_command", f"the program to run is computed at run time: {_excerpt(spelled)}"
            )
            return facts
        name = posixpath.basename(program)
        args = argv[1:]
        self.raw_words = [w.word for w in words]  # type: ignore[attr-defined]
        self.scan.programs.add(name)
        self.secret_reads(name, args, facts)
        check = getattr(self, "_prog_" + name.replace("-", "_").replace(".", "_"), None)
        if name.startswith("mkfs"):
            check = self._disk_tool
        elif name in SHELLS:
            check = self._shell
        elif name in INTERPRETERS or re.fullmatch(r"python3(\.\d+)?|perl5?|ruby\d*|node(js)?|php\d*", name):
            check = self._interpreter
        elif name in _SHUTDOWN:
            check = self._shutdown
        elif name in _DISK_TOOLS:
            check = self._disk_tool
        elif name in _WRITERS_LAST_ARG:
            check = self._writer_last
        elif name in _WRITERS_ALL_ARGS:
            check = self._writer_all
        elif name in NETWORK_TOOLS:
            check = self._network
        elif name in _SQL_CLIENTS or name == "sqlite3":
            check = self._sql_client
        if check is not None:
            check(name, args, facts, inner)
        if name in ENV_DUMPERS and not any(a is not None and not a.startswith("-") for a in args):
            facts.dumps_env = True
        if name in ("echo", "printf") and all(a is not None for a in args):
            facts.literal_output = _echo_text(name, args)  # type: ignore[arg-type]
        return facts

    def unwrap(self, argv: list[Arg]) -> list[Arg]:
        while argv and argv[0] is not None:
            name = posixpath.basename(argv[0])
            if name == "env":
                command = self._unwrap_env(argv[1:])
                if command is None:
                    return argv  # plain `env`: prints the environment
                self.scan.programs.add("env")
                argv = command
                continue
            if name == "busybox" and len(argv) > 1:
                argv = argv[1:]
                continue
            if name not in _WRAPPERS_OPTION_VALUES:
                return argv
            if name in _SUDO_LIKE:
                self.add("shell.privileged", f"runs with {name}")
            if name == "xargs":
                self.fed_by_xargs = True
            self.scan.programs.add(name)
            with_value = _WRAPPERS_OPTION_VALUES[name]
            i = 1
            while i < len(argv) and argv[i] is not None and argv[i].startswith("-") and argv[i] != "-":  # type: ignore[union-attr]
                option = argv[i]
                i += 1
                if option == "--":
                    break
                if option in with_value or (name == "xargs" and option in ("-I", "-i") and i < len(argv)):
                    i += 1
            i += _WRAPPER_LEADING_POSITIONALS.get(name, 0)
            argv = argv[i:]
        return argv

    def _unwrap_env(self, args: list[Arg]) -> list[Arg] | None:
        i = 0
        while i < len(args):
            arg = args[i]
            if arg is None:
                return args[i:]
            if arg in ("-u", "--unset", "-C", "--chdir"):
                i += 2
            elif arg in ("-S", "--split-string") and i + 1 < len(args) and args[i + 1] is not None:
                return [*(args[i + 1] or "").split(), *args[i + 2 :]]
            elif arg.startswith("-"):
                i += 1
            elif "=" in arg and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", arg):
                i += 1
            else:
                return args[i:]
        return None

    # --- program checks (one method per program family) ----------------------------------------

    def _shell(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        code_index = None
        for i, arg in enumerate(args):
            if arg is None:
                break
            if arg == "--" or not arg.startswith("-") and not arg.startswith("+"):
                break
            if "c" in arg.lstrip("-+") and not arg.startswith("--"):
                code_index = i + 1
                break
        if code_index is not None:
            code = args[code_index] if code_index < len(args) else None
            if code is None:
                if inner.downloads:
                    self.add("shell.pipe_to_shell", f"{name} -c runs downloaded content")
                else:
                    self.add("shell.dynamic_command", f"{name} -c runs code only known at run time")
            else:
                facts.absorb(self.script(code))
            return
        positionals = [a for a in args if a is None or not a.startswith("-")]
        if inner.downloads and (
            not positionals or positionals[0] is None or positionals[0].startswith("/dev/fd")
        ):
            self.add("shell.pipe_to_shell", f"{name} runs downloaded content")
        if not positionals or "-s" in args or positionals[0] == "-":
            facts.stdin_program = True
            facts.posix_stdin_shell = name != "fish"

    def _interpreter(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        code_flags = ("-c", "-e", "-E", "-r", "--eval", "-p")
        for i, arg in enumerate(args):
            if arg in code_flags and i + 1 < len(args):
                code = args[i + 1]
                if code is None:
                    if inner.downloads:
                        self.add("shell.pipe_to_shell", f"{name} runs downloaded code")
                    return
                if _REVERSE_SHELL_CODE.search(code):
                    self.add("shell.reverse_shell", f"{name} code connects a socket to a shell")
                return
        if any(a is not None and a.startswith("-m") for a in args):
            return  # runs an installed module, e.g. `python -m json.tool`
        positionals = [a for a in args if a is None or not a.startswith("-")]
        if inner.downloads and not positionals:
            self.add("shell.pipe_to_shell", f"{name} runs downloaded code")
        if not positionals or positionals[0] == "-":
            facts.stdin_program = True

    def _prog_eval(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        if any(a is None for a in args):
            if inner.downloads:
                self.add("shell.pipe_to_shell", "eval runs downloaded content")
            else:
                self.add("shell.dynamic_command", "eval of text only known at run time")
            return
        facts.absorb(self.script(" ".join(args)))  # type: ignore[arg-type]

    def _prog_source(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        if inner.downloads:
            self.add("shell.pipe_to_shell", f"{name} runs downloaded content")
        elif args and args[0] in ("/dev/stdin", "-"):
            facts.stdin_program = True
            facts.posix_stdin_shell = True

    _prog__ = _prog_source  # the `.` builtin: run() maps "." in a program name to "_"

    def _prog_rm(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        flags, targets = _split_options(args)
        recursive = any(
            f in ("--recursive",) or (not f.startswith("--") and ("r" in f or "R" in f)) for f in flags
        )
        no_preserve = "--no-preserve-root" in flags
        if not targets and self.fed_by_xargs and recursive:
            self.add("shell.rm_outside_worktree", f"{name} -r of paths read from input by xargs")
        for target in targets:
            self.deletion(target, recursive or no_preserve, name)

    def _prog_unlink(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        for target in _split_options(args)[1]:
            self.deletion(target, False, name)

    def _prog_shred(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        for target in _split_options(args, frozenset({"-n", "--iterations", "-s", "--size"}))[1]:
            if target is not None and classify(resolve(target, self.cwd), self.worktree) is Place.DEVICE:
                self.add("shell.disk_wipe", f"shred overwrites the device {target}")
            else:
                self.deletion(target, False, name)

    def deletion(self, target: Arg, recursive: bool, name: str) -> None:
        if target is None:
            if recursive:
                self.add("shell.rm_outside_worktree", f"{name} -r of a path only known at run time")
            return
        path = resolve(target, self.cwd)
        place = classify(path, self.worktree)
        if place in (Place.ROOT_LIKE, Place.ANCESTOR):
            if recursive:
                self.add("shell.rm_root", f"{name} -r deletes {path} ({place.value})")
            else:
                self.add("shell.rm_outside_worktree", f"{name} deletes files in {path} ({place.value})")
        elif place in (Place.SYSTEM, Place.OUTSIDE, Place.DEVICE):
            self.add("shell.rm_outside_worktree", f"{name} deletes {path} ({place.value})")
        elif place is Place.INSIDE:
            if path.split("/")[0] == ".git" and (recursive or path == ".git"):
                self.add("shell.rm_git_dir", f"{name} deletes the repository history in {path}")
            elif recursive and path in (".", "*", ".*"):
                self.add("shell.rm_worktree", f"{name} -r deletes the whole worktree ({target})")

    def _prog_find(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        roots: list[Arg] = []
        i = 0
        while i < len(args) and (
            args[i] is None or not (args[i].startswith("-") or args[i] in ("(", "!", "\\("))
        ):  # type: ignore[union-attr]
            roots.append(args[i])
            i += 1
        if not roots:
            roots = ["."]
        expression = args[i:]
        filtered = any(a in _FIND_TESTS for a in expression)
        if "-delete" in expression:
            for root in roots:
                if root is None:
                    self.add(
                        "shell.rm_outside_worktree", "find -delete under a directory only known at run time"
                    )
                    continue
                path = resolve(root, self.cwd)
                place = classify(path, self.worktree)
                if place in (Place.ROOT_LIKE, Place.ANCESTOR) and not filtered:
                    self.add("shell.rm_root", f"find -delete empties {path} ({place.value})")
                elif place not in (Place.INSIDE, Place.TMP, Place.HARMLESS_DEVICE):
                    self.add(
                        "shell.rm_outside_worktree",
                        f"find -delete removes files under {path} ({place.value})",
                    )
        for j, arg in enumerate(expression):
            if arg in ("-exec", "-execdir", "-ok", "-okdir"):
                end = j + 1
                while end < len(expression) and expression[end] not in (";", "+", "\\;"):
                    end += 1
                root = roots[0] if roots[0] is not None else "/"
                sub = [
                    a.replace("{}", posixpath.join(root, "**", "{}")) if a is not None else None
                    for a in expression[j + 1 : end]
                ]
                facts.absorb(self.run(sub, [], _Facts()))

    def _prog_chmod(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        flags, positionals = _split_options(args, frozenset({"--reference", "--from"}))
        if name == "chmod" and positionals and not any(f.startswith("--reference") for f in flags):
            positionals = positionals[1:]
        elif (
            name in ("chown", "chgrp") and positionals and not any(f.startswith("--reference") for f in flags)
        ):
            positionals = positionals[1:]
        recursive = any(f == "--recursive" or (not f.startswith("--") and "R" in f) for f in flags)
        for target in positionals:
            if target is None:
                continue
            path = resolve(target, self.cwd)
            place = classify(path, self.worktree)
            if recursive and place in (Place.ROOT_LIKE, Place.ANCESTOR):
                self.add("shell.chmod_root", f"{name} -R changes {path} ({place.value})")
            else:
                self.write(target, name, content=False)

    _prog_chown = _prog_chmod
    _prog_chgrp = _prog_chmod

    def _prog_dd(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        for arg in args:
            if arg is not None and arg.startswith("of="):
                self.write(arg[3:], "dd")
            if arg is not None and arg.startswith("if="):
                self.secret_reads("dd", [arg[3:]], facts)

    def _disk_tool(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        positionals = _split_options(args)[1]
        if name == "fdisk" and "-l" in args:
            return
        for target in positionals or [None]:
            if target is None or target.startswith("/dev/"):
                self.add("shell.disk_wipe", f"{name} rewrites {'a device' if target is None else target}")
                return

    def _shutdown(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        if "--help" in args:
            return
        self.add("shell.shutdown", f"{name} stops the machine")

    def _prog_init(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        if args and args[0] in ("0", "6"):
            self.add("shell.shutdown", f"{name} {args[0]} stops the machine")

    _prog_telinit = _prog_init

    def _prog_systemctl(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        verbs = {"poweroff", "reboot", "halt", "kexec", "emergency", "rescue", "suspend", "hibernate"}
        for arg in args:
            if arg in verbs:
                self.add("shell.shutdown", f"systemctl {arg} stops the machine")

    def _prog_kill(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        pids = (
            args[1:] if args and args[0] is not None and args[0].startswith("-") and len(args) > 1 else args
        )
        if "-1" in pids:
            self.add("shell.shutdown", "kill -1 signals every process the user can reach")

    def _prog_killall5(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        self.add("shell.shutdown", "killall5 signals every process")

    def _prog_crontab(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        flags, positionals = _split_options(args, frozenset({"-u"}))
        if "-r" in flags:
            self.add("shell.rm_outside_worktree", "crontab -r deletes the user's crontab")
        elif not flags & {"-l", "-e"} or positionals:
            self.add("shell.exec_file_write", "crontab installs commands that run on a schedule")

    def _prog_sed(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        if not any(a is not None and (a.startswith("-i") or a.startswith("--in-place")) for a in args):
            return
        _, positionals = _split_options(args, frozenset({"-e", "-f", "--expression", "--file", "-l"}))
        has_script_option = any(a in ("-e", "-f", "--expression", "--file") for a in args)
        for target in positionals if has_script_option else positionals[1:]:
            self.write(target, "sed -i")

    def _prog_tar(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        extracting = any(
            a is not None
            and (
                a in ("-x", "--extract", "--get")
                or (not a.startswith("--") and "x" in a.lstrip("-") and len(a) < 8)
            )
            for a in args[:2]
        )
        for i, arg in enumerate(args):
            if arg is None:
                continue
            directory = None
            if arg in ("-C", "--directory") and i + 1 < len(args):
                directory = args[i + 1]
            elif arg.startswith("--directory="):
                directory = arg.split("=", 1)[1]
            if extracting and directory is not None:
                self.write(directory, "tar -x")

    def _prog_git(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        self.scan.findings.extend(git_findings(args, self.git, self.policy))
        if args and args[0] in ("clone", "fetch", "pull", "ls-remote"):
            facts.network = True

    def _prog_cd(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        target = next((a for a in args if a is None or not a.startswith("-")), "~")
        if target is None:
            self.cwd = "/unknown-directory"
        elif target != "-":
            self.cwd = resolve(target, self.cwd)

    _prog_pushd = _prog_cd

    def _prog_terraform(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        if "destroy" in args or "-destroy" in args:
            self.add("shell.remote_destroy", "terraform destroy tears down infrastructure")

    def _prog_kubectl(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        if "delete" in args or "drain" in args:
            self.add("shell.remote_destroy", "kubectl delete removes cluster resources")

    def _prog_helm(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        if args and args[0] in ("uninstall", "delete", "del"):
            self.add("shell.remote_destroy", "helm uninstall removes a release")

    def _prog_aws(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        if (
            len(args) >= 2
            and args[0] == "s3"
            and (args[1] == "rb" or (args[1] == "rm" and "--recursive" in args))
        ):
            self.add("shell.remote_destroy", f"aws s3 {args[1]} deletes a bucket's contents")
        elif any(
            a is not None and (a.startswith("delete-") or a.startswith("terminate-")) for a in args[1:2]
        ):
            self.add("shell.remote_destroy", f"aws {args[0]} {args[1]} deletes cloud resources")

    def _prog_gsutil(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        if args and args[0] in ("rm", "rb") and ("-r" in args or args[0] == "rb"):
            self.add("shell.remote_destroy", f"gsutil {args[0]} deletes bucket contents")

    def _prog_dropdb(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        self.add("shell.remote_destroy", "dropdb deletes a database")

    def _prog_redis_cli(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        if any(a is not None and a.lower() in ("flushall", "flushdb") for a in args):
            self.add("shell.remote_destroy", "redis-cli FLUSHALL/FLUSHDB deletes every key")

    def _prog_docker(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        if (
            len(args) >= 2
            and args[0] in ("system", "volume")
            and args[1] in ("prune", "rm")
            and ("--volumes" in args or args[0] == "volume")
        ):
            self.add("shell.remote_destroy", f"docker {args[0]} {args[1]} deletes volumes and their data")
        for i, arg in enumerate(args):
            if (
                arg in ("-v", "--volume")
                and i + 1 < len(args)
                and args[i + 1] is not None
                and args[i + 1].split(":")[0] in ("/", "/etc", "~")
            ):
                self.add(
                    "shell.write_outside_worktree",
                    f"docker mounts {args[i + 1].split(':')[0]} into a container",
                )

    def _writer_last(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        value_options = frozenset(
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
        flags, positionals = _split_options(args, value_options)
        targets = [a for i, a in enumerate(args) if i > 0 and args[i - 1] in ("-t", "--target-directory")]
        if name == "rsync":
            remote = [p for p in positionals if p is not None and host_of_remote_path(p)]
            if remote:
                self._network(name, args, facts, inner)
                return
        if not targets and len(positionals) >= 2:
            targets = [positionals[-1]]
        if name == "install" and ("-d" in flags or "--directory" in flags):
            targets = positionals
        for target in targets:
            self.write(target, name)
        if name == "mv":
            for source in positionals[:-1]:
                if source is not None and classify(resolve(source, self.cwd), self.worktree) in (
                    Place.ROOT_LIKE,
                    Place.ANCESTOR,
                ):
                    self.add("shell.rm_outside_worktree", f"mv moves away {source}")

    def _writer_all(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        _, positionals = _split_options(
            args, frozenset({"-s", "--size", "-m", "--mode", "-r", "--reference", "-d", "-t"})
        )
        for target in positionals:
            self.write(target, name, content=name in ("tee", "truncate"))
        if name == "tee":
            facts.literal_output = None

    def _network(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        facts.network = True
        facts.raw_socket = name in RAW_SOCKETS
        hosts: list[str | None] = []
        uploads: list[str] = []
        if name in DOWNLOADERS:
            value_options = _CURL_VALUE_OPTIONS if name != "wget" else _WGET_VALUE_OPTIONS
            writes_file = False
            i = 0
            while i < len(args):
                arg = args[i]
                nxt = args[i + 1] if i + 1 < len(args) else None
                if arg is None:
                    hosts.append(None)
                elif arg.startswith("-") and "=" in arg and arg.startswith("--"):
                    option, value = arg.split("=", 1)
                    if option in (
                        "--post-file",
                        "--body-file",
                        "--upload-file",
                        "--data-binary",
                        "--data",
                        "--form",
                    ):
                        uploads.append(value)
                    if option in ("--output-document", "--output") and value != "-":
                        writes_file = True
                elif arg in value_options:
                    if (
                        arg
                        in (
                            "-d",
                            "--data",
                            "--data-binary",
                            "--data-raw",
                            "--data-urlencode",
                            "-F",
                            "--form",
                            "-T",
                            "--upload-file",
                            "--post-file",
                            "--body-file",
                            "--json",
                        )
                        and nxt is not None
                    ):
                        uploads.append(nxt)
                    if arg in ("-o", "--output", "-O", "--output-document") and nxt not in ("-", None):
                        writes_file = True
                    i += 2
                    continue
                elif arg.startswith("-"):
                    if name == "curl" and (
                        arg in ("-O", "--remote-name", "--remote-name-all")
                        or (not arg.startswith("--") and "O" in arg)
                    ):
                        writes_file = True
                    if name == "wget" and not arg.startswith("--") and arg.endswith("O") and nxt is not None:
                        i += 2
                        continue
                else:
                    host = host_of_url(arg)
                    if host:
                        hosts.append(host)
                i += 1
            facts.downloads = _wget_to_stdout(args) if name == "wget" else not writes_file
        elif name in ("nc", "ncat", "netcat"):
            flags, positionals = _split_options(args, _NC_VALUE_OPTIONS)
            joined = "".join(f.lstrip("-") for f in flags if not f.startswith("--"))
            if (
                "e" in joined
                or "c" in joined
                or any(f in ("--exec", "--sh-exec", "--lua-exec") for f in flags)
                or any(a in ("-e", "-c") for a in args)
            ):
                self.add("shell.reverse_shell", f"{name} -e hands a shell to a network peer")
            if "l" in joined or "--listen" in flags:
                hosts.append("listening socket")
            elif positionals:
                hosts.append(
                    positionals[0]
                    if positionals[0] is None
                    else (host_of_login(positionals[0]) or positionals[0])
                )
            facts.downloads = True
        elif name == "socat":
            lowered = " ".join(a.lower() for a in args if a is not None)
            if re.search(r"\b(exec|system):", lowered) and re.search(
                r"\b(tcp|tcp4|tcp6|udp|openssl|tcp-listen)[46]?[:-]", lowered
            ):
                self.add("shell.reverse_shell", "socat connects a program to a network socket")
            for arg in args:
                if arg is None:
                    continue
                match = re.match(r"(?i)^(?:tcp|tcp4|tcp6|udp|openssl|ssl)[46]?:([^:,]+)", arg)
                if match:
                    hosts.append(match.group(1))
            facts.downloads = True
        elif name == "telnet":
            positionals = _split_options(args)[1]
            if positionals:
                hosts.append(positionals[0])
            facts.downloads = True
        elif name == "sshpass":
            if "-p" in args:
                self.add("shell.inline_secret", "sshpass passes a password on the command line")
            return
        elif name == "ssh":
            positionals = _split_options(args, _SSH_VALUE_OPTIONS)[1]
            if positionals:
                hosts.append(None if positionals[0] is None else host_of_login(positionals[0]))
        elif name in ("scp", "sftp", "rsync"):
            flags, positionals = _split_options(
                args, _SSH_VALUE_OPTIONS | frozenset({"-e", "--rsh", "--exclude", "--include", "--filter"})
            )
            for i, arg in enumerate(positionals):
                if arg is None:
                    continue
                host = host_of_remote_path(arg)
                if host:
                    hosts.append(host)
                elif i < len(positionals) - 1:
                    uploads.append(arg)
            if name == "sftp" and positionals and positionals[0] is not None:
                hosts.append(host_of_login(positionals[0]))
        else:
            for arg in _split_options(args)[1]:
                hosts.append(None if arg is None else host_of_url(arg))
        leaving = False
        for host in hosts:
            if host is None:
                leaving = True
                self.add("shell.network_egress", f"{name} talks to a host only known at run time")
            elif host == "listening socket":
                leaving = True
                self.add("shell.network_egress", f"{name} opens a listening socket")
            elif not is_loopback(host) and not self.policy.host_allowed(host):
                leaving = True
                self.add(
                    "shell.network_egress", f"{name} talks to {host}, which is not on the egress allowlist"
                )
        for upload in uploads:
            path = (
                upload.lstrip("@<")
                if upload.startswith(("@", "<")) or name in ("scp", "rsync", "sftp") or "=@" in upload
                else None
            )
            if "=@" in upload:
                path = upload.split("=@", 1)[1]
            if path and is_credential_file(resolve(path, self.cwd)):
                self.add("shell.secret_exfiltration", f"{name} uploads the credential file {path}")
        if inner.reads_secret or inner.dumps_env:
            what = "credentials" if inner.reads_secret else "the environment"
            self.add("shell.secret_exfiltration", f"{name} sends {what} from a command substitution")
        secret_vars = sorted(
            {
                v
                for w in self.raw_words
                for v in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", w)
                if _SECRET_VAR.search(v)
            }
        )
        if leaving and secret_vars:
            self.add(
                "shell.secret_exfiltration", f"{name} sends ${secret_vars[0]} to a host off the allowlist"
            )

    def _sql_client(self, name: str, args: list[Arg], facts: _Facts, inner: _Facts) -> None:
        from .sql import analyze_sql

        sql_texts: list[str] = []
        if name == "sqlite3":
            positionals = _split_options(args, frozenset({"-cmd", "-separator", "-nullvalue"}))[1]
            sql_texts = [p for p in positionals[1:] if p is not None]
        else:
            options = _SQL_CLIENTS[name]
            for i, arg in enumerate(args):
                if arg is None:
                    continue
                if arg in options and i + 1 < len(args) and args[i + 1] is not None:
                    sql_texts.append(args[i + 1])  # type: ignore[arg-type]
                for option in options:
                    if option.startswith("--") and arg.startswith(option + "="):
                        sql_texts.append(arg.split("=", 1)[1])
        for text in sql_texts:
            for finding in analyze_sql(text):
                if finding.rule not in (
                    "sql.unparseable",
                    "sql.unrecognised",
                ):  # client meta-commands such as \dt
                    self.scan.findings.append(finding)

    # --- files -------------------------------------------------------------------------------

    def redirect(self, node: object, program: Arg) -> None:
        kind = node.type  # type: ignore[attr-defined]
        target = node.output  # type: ignore[attr-defined]
        if isinstance(target, int) or getattr(target, "kind", None) != "word":
            return
        for sub in _substitutions(target):
            self.visit(sub)
        value = self.expand(target)
        if value is not None and (value.startswith("/dev/tcp/") or value.startswith("/dev/udp/")):
            host = value.split("/")[3] if value.count("/") >= 3 else ""
            shell_like = program is not None and posixpath.basename(program) in (SHELLS | {"exec"})
            if shell_like or kind in (">&", "<&", "<>"):
                self.add("shell.reverse_shell", f"redirect to {value} connects a shell to the network")
            elif host and not is_loopback(host) and not self.policy.host_allowed(host):
                self.add(
                    "shell.network_egress", f"redirect to {value}: {host} is not on the egress allowlist"
                )
            return
        if kind in (">", ">>", ">|", "&>", "&>>", ">&", "<>"):
            if value is None or not value.isdigit() and value != "-":
                self.write(value, "redirect")
        elif kind == "<" and value is not None and is_credential_file(resolve(value, self.cwd)):
            self.add("shell.secret_read", f"reads the credential file {value}")

    def write(self, target: Arg, via: str, content: bool = True) -> None:
        """`content`: the command puts bytes into the file (a redirect, tee, cp), not only metadata (chmod, mkdir)."""
        if target is None:
            return
        path = resolve(target, self.cwd)
        place = classify(path, self.worktree)
        if place is Place.HARMLESS_DEVICE:
            return
        if place is Place.DEVICE:
            self.add("shell.disk_wipe", f"{via} writes onto the device {path}")
        elif content and runs_code(path) and (place is not Place.INSIDE or "/.git/" in "/" + path):
            self.add("shell.exec_file_write", f"{via} writes {path}, which runs code automatically")
        elif content and (place is Place.SYSTEM or path == "/"):
            self.add("shell.system_write", f"{via} writes {path} ({place.value})")
        elif place is Place.SYSTEM:
            self.add("shell.write_outside_worktree", f"{via} changes {path} ({place.value})")
        elif place in (Place.OUTSIDE, Place.ANCESTOR, Place.ROOT_LIKE):
            self.add("shell.write_outside_worktree", f"{via} writes {path} ({place.value})")

    def secret_reads(self, name: str, args: list[Arg], facts: _Facts) -> None:
        if name in _KEY_USERS:
            return
        for arg in args:
            if arg is None:
                continue
            candidate = arg.split("=", 1)[1] if arg.startswith("-") and "=" in arg else arg
            candidate = candidate.lstrip("@")
            if not candidate or candidate.startswith("-"):
                continue
            if is_credential_file(resolve(candidate, self.cwd)):
                facts.reads_secret = True
                self.add("shell.secret_read", f"{name} reads the credential file {candidate}")


# --- helpers ---------------------------------------------------------------------------------


def _substitutions(node: object) -> Iterable[object]:
    for part in getattr(node, "parts", []) or []:
        if part.kind in ("commandsubstitution", "processsubstitution"):
            yield part
        else:
            yield from _substitutions(part)


def _unknown(word: object) -> Arg:
    """An unknown value is None, except in an option (`--data=$(…)`), which stays recognisably an option."""
    text: str = word.word  # type: ignore[attr-defined]
    return text if text.startswith("-") else None


def _wget_to_stdout(args: list[Arg]) -> bool:
    for i, arg in enumerate(args):
        if arg in ("-O-", "-qO-", "-qO", "--output-document=-") and (
            arg != "-qO" or args[i + 1 : i + 2] == ["-"]
        ):
            return True
        if (
            arg is not None
            and arg.startswith("-")
            and not arg.startswith("--")
            and arg.endswith("O")
            and args[i + 1 : i + 2] == ["-"]
        ):
            return True
    return False


def _echo_output(command: object) -> str | None:
    """The output of `$(echo literal …)` / `$(printf literal)`, or None when it is not that simple."""
    if getattr(command, "kind", None) != "command":
        return None
    words = [p for p in command.parts if p.kind == "word"]  # type: ignore[attr-defined]
    if not words or any(p.kind != "word" for p in command.parts):  # type: ignore[attr-defined]
        return None
    if any(getattr(w, "parts", None) for w in words):
        return None
    name = words[0].word
    if name not in ("echo", "printf"):
        return None
    return _echo_text(name, [w.word for w in words[1:]])


def _echo_text(name: str, args: list[str]) -> str:
    if name == "echo":
        while args and re.fullmatch(r"-[neE]+", args[0]):
            args = args[1:]
        return " ".join(args)
    if not args:
        return ""
    fmt = args[0]
    if "%s" in fmt and len(args) > 1:
        return " ".join(args[1:])
    return fmt.replace("\\n", "\n")


def _split_options(args: list[Arg], with_value: frozenset[str] = frozenset()) -> tuple[set[str], list[Arg]]:
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


def _forks(node: object) -> bool:
    kind = getattr(node, "kind", None)
    if kind == "pipeline":
        return True
    if kind == "operator" and getattr(node, "op", None) == "&":
        return True
    children = list(getattr(node, "parts", []) or []) + list(getattr(node, "list", []) or [])
    return any(_forks(child) for child in children)


def _excerpt(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
