"""The syntax-tree walk: every simple command wherever it hides (pipelines, lists, subshells, functions,
loops, command and process substitution), its words expanded where they are known statically, its
wrappers (sudo, env, timeout, xargs, …) peeled off, its redirects checked. The program that remains is
handed to its checker (`programs.py`); code in strings (`sh -c`, `eval`, `echo … | sh`) is walked again.
"""

from __future__ import annotations

import posixpath
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import bashlex
import bashlex.errors

from ...policy import SafetyPolicy
from ...rules import Finding
from ..git import GitContext
from ..network import is_loopback
from ..paths import (
    Place,
    classify,
    code_role,
    is_credential_file,
    is_package_config,
    is_trace_file,
    resolve,
    runs_code,
)
from .options import (
    ENV_DUMPERS,
    KEY_USERS,
    SHELLS,
    SUDO_LIKE,
    WRAPPER_LEADING_POSITIONALS,
    WRAPPERS_OPTION_VALUES,
    Arg,
)

# What bashlex raises on text it cannot read: ParsingError (and its MatchedPairError) for bad syntax,
# NotImplementedError for constructs it does not support, and AttributeError or TypeError from its own
# code on some malformed input (found by mutating nl2bash commands). Each means "not understood".
_PARSE_FAILURES = (
    bashlex.errors.ParsingError,
    NotImplementedError,
    AttributeError,
    TypeError,
    RecursionError,
)

# Programs that pass on (some of) the lines they read without rewriting them.
_LINE_FILTERS = frozenset({"grep", "egrep", "fgrep", "sort", "uniq", "head", "tail", "shuf"})
_QUOTED_HEREDOC = re.compile(r"<<(-?)\s*(['\"])(\w+)\2")
MAX_DEPTH = 8
# bashlex reads about 50 000 characters a second: a longer command is escalated unread.
MAX_COMMAND_CHARS = 50_000
# A backstop behind the size cap: a walk still running after this long stops and escalates.
MAX_SECONDS = 2.0


@dataclass
class Facts:
    """What a command (or pipeline stage) does with its output, as far as the rules care."""

    downloads: bool = False  # writes content fetched from the network to stdout
    reads_secret: bool = False  # writes a credential's content to stdout
    dumps_env: bool = False  # writes the process environment to stdout
    network: bool = False  # sends what it reads over the network
    raw_socket: bool = False  # nc, socat, telnet: a bare socket a shell can be wired to
    stdin_program: bool = False  # a shell or interpreter that runs the program it reads on stdin
    posix_stdin_shell: bool = False
    literal_output: str | None = None  # echo/printf of literal text
    selects_secrets: bool = False  # grep for secret-named lines
    paths_inside: bool = False  # prints only paths inside the worktree (find . …, then grep/sort/head)
    stdin_database: str | None = None  # a database client that runs the statements it reads on stdin

    def absorb(self, other: Facts) -> None:
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


# A program's checker: (walker, program name, its arguments, what the command outputs, what its
# substitutions output) -> None; it adds findings to the walker and facts about the output.
Checker = Callable[["Walker", str, list[Arg], "Facts", "Facts"], None]


class Walker:
    """One command line's walk: the variables, working directory and git context it has set so far, and
    the findings. `checker_for` gives a program's checker (`programs.checker_for`)."""

    def __init__(
        self, policy: SafetyPolicy, worktree: str, checker_for: Callable[[str], Checker | None]
    ) -> None:
        self.policy = policy
        self.checker_for = checker_for
        self.worktree = worktree
        self.scan = ShellScan()
        self.env: dict[str, str] = {"HOME": "~"}
        self.cwd = "."
        self.git = GitContext()
        self.depth = 0
        self.sources: list[str] = []
        self.raw_words: list[str] = []
        self.spelled_words: list[str] = []  # as written, quotes included
        self.fed_by_xargs = False
        self.elevated = False  # the command being checked runs under sudo/doas
        self.stdin_piped = False  # it reads the output of an earlier pipeline stage
        self.upstream_paths_inside = False  # and that output is paths inside the worktree
        self.filtered_find = False  # it runs under find -exec with tests that select some files
        self.stdin_text: str | None = None  # a heredoc or here-string the command reads
        self.deadline = time.monotonic() + MAX_SECONDS
        self.out_of_time = False

    def add(self, rule: str, detail: str) -> None:
        self.scan.findings.append(Finding(rule, detail))

    # --- parsing -----------------------------------------------------------------------------

    def script(self, text: str) -> Facts:
        """Parse `text` as a script and walk it; unparseable text is escalated, never waved through."""
        if self.depth > MAX_DEPTH:
            self.add("shell.too_deep", f"code nested more than {MAX_DEPTH} levels deep (sh -c / eval)")
            return Facts()
        if not text.strip():
            return Facts()
        try:
            # bashlex rejects a quoted heredoc delimiter (<<'EOF'); quoting only stops expansion inside
            # the body, which the analyser does not perform anyway
            trees = bashlex.parse(_QUOTED_HEREDOC.sub(r"<<\1\3", text) if "<<" in text else text)
        except _PARSE_FAILURES as exc:
            reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
            self.add("shell.unparseable", f"could not parse as shell ({reason}): {_excerpt(text)}")
            return Facts()
        self.depth += 1
        self.sources.append(text)
        try:
            facts = Facts()
            for tree in trees:
                facts.absorb(self.visit(tree))
            return facts
        finally:
            self.sources.pop()
            self.depth -= 1

    # --- the tree ----------------------------------------------------------------------------

    def visit(self, node: object) -> Facts:
        if time.monotonic() > self.deadline:
            if not self.out_of_time:
                self.out_of_time = True
                self.add("shell.too_large", f"analysis stopped after {MAX_SECONDS:g} s: too large to analyse")
            return Facts()
        kind = getattr(node, "kind", None)
        if kind == "command":
            return self.command(node)
        if kind == "pipeline":
            return self.pipeline([p for p in node.parts if p.kind != "pipe"])  # type: ignore[attr-defined]
        if kind == "function":
            return self.function(node)
        if kind in ("commandsubstitution", "processsubstitution"):
            return self.visit(node.command)  # type: ignore[attr-defined]
        facts = Facts()
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

    def function(self, node: object) -> Facts:
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
        return Facts()

    def pipeline(self, stages_nodes: list[object]) -> Facts:
        stages = []
        for index, node in enumerate(stages_nodes):
            self.stdin_piped = index > 0
            self.upstream_paths_inside = index > 0 and stages[index - 1].paths_inside
            stages.append(self.visit(node))
        self.stdin_piped = False
        self.upstream_paths_inside = False
        for j in range(1, len(stages)):
            consumer = stages[j]
            upstream = Facts()
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
            if consumer.selects_secrets and upstream.dumps_env:
                self.add("shell.secret_print", "the environment is filtered for secrets and printed")
            if consumer.stdin_database is not None and stages[j - 1].literal_output is not None:
                self.database_input(consumer.stdin_database, stages[j - 1].literal_output)
            if consumer.network and (upstream.reads_secret or upstream.dumps_env):
                what = "credentials" if upstream.reads_secret else "the environment"
                self.add("shell.secret_exfiltration", f"{what} piped into a network command")
        if len(stages) > 1 and any(s.raw_socket for s in stages) and any(s.stdin_program for s in stages):
            self.add("shell.reverse_shell", "a shell is wired to a raw network socket through a pipe")
        merged = Facts()
        for stage in stages:
            merged.absorb(stage)
        merged.stdin_program = stages[0].stdin_program if stages else False
        return merged

    def command(self, node: object) -> Facts:
        parts = node.parts  # type: ignore[attr-defined]
        words = [p for p in parts if p.kind == "word"]
        assignments = [p for p in parts if p.kind == "assignment"]
        redirects = [p for p in parts if p.kind == "redirect"]
        inner = Facts()
        for part in (*assignments, *words):
            for sub in _substitutions(part):
                inner.absorb(self.visit(sub))
        from .admin import assignment as check_assignment

        for assignment in assignments:
            name, _, _ = assignment.word.partition("=")
            value = self.expand(assignment, strip_prefix=len(name) + 1)
            check_assignment(self, name, value)
            if words:
                continue
            if value is None:
                self.env.pop(name, None)
            else:
                self.env[name] = value
        if not words:
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
        self.stdin_text = _stdin_text(redirects, self)
        facts = self.run(argv, words, inner)
        self.stdin_text = None
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

    def run(self, argv: list[Arg], words: list[object], inner: Facts) -> Facts:
        """Apply the rules to one simple command, after peeling wrappers such as sudo and env."""
        facts = Facts()
        facts.absorb(
            Facts(downloads=inner.downloads, reads_secret=inner.reads_secret, dumps_env=inner.dumps_env)
        )
        self.fed_by_xargs = False
        self.elevated = False
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
        source = self.sources[-1] if self.sources else ""
        self.spelled_words = [source[w.pos[0] : w.pos[1]] for w in words]  # type: ignore[attr-defined]
        self.scan.programs.add(name)
        self.secret_reads(name, args, facts)
        from . import admin

        admin.miner_arguments(self, name, args)
        admin.init_script(self, program, args)
        if admin.elevated_shell(self, name, args):
            self.add("shell.root_shell", f"{name} runs as root with nothing to run: an interactive root shell")
        check = self.checker_for(name)
        if check is not None:
            check(self, name, args, facts, inner)
        if name in ENV_DUMPERS and not any(a is not None and not a.startswith("-") for a in args):
            facts.dumps_env = True
        if name in _LINE_FILTERS and self.upstream_paths_inside:
            facts.paths_inside = True
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
            if name not in WRAPPERS_OPTION_VALUES:
                return argv
            if name in SUDO_LIKE:
                self.add("shell.privileged", f"runs with {name}")
                self.elevated = True
                own = _leading_options(argv[1:], WRAPPERS_OPTION_VALUES[name])
                login = [a for a in own if not a.startswith("--")]
                if any(set(a[1:]) & {"i", "s"} and not set(a[1:]) & set("ughpCrtUDRT") for a in login) or any(
                    a in ("--login", "--shell") for a in own
                ):
                    self.add("shell.root_shell", f"{name} -i/-s opens a root shell")
            if name in ("nohup", "setsid"):
                from .admin import detached

                detached(self, next((a or "?" for a in argv[1:] if a is None or not a.startswith("-")), "a program"), name)
            if name == "xargs":
                self.fed_by_xargs = True
            self.scan.programs.add(name)
            with_value = WRAPPERS_OPTION_VALUES[name]
            i = 1
            while i < len(argv) and argv[i] is not None and argv[i].startswith("-") and argv[i] != "-":  # type: ignore[union-attr]
                option = argv[i]
                i += 1
                if option == "--":
                    break
                if option in with_value or (name == "xargs" and option in ("-I", "-i") and i < len(argv)):
                    i += 1
            i += WRAPPER_LEADING_POSITIONALS.get(name, 0)
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
                from .admin import assignment

                variable, _, value = arg.partition("=")
                assignment(self, variable, value)
                i += 1
            else:
                return args[i:]
        return None

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
                self.write(value, "redirect", erases=kind in (">", ">|", "&>"))
        elif kind == "<" and value is not None and is_credential_file(resolve(value, self.cwd)):
            self.add("shell.secret_read", f"reads the credential file {value}")

    def write(self, target: Arg, via: str, content: bool = True, erases: bool = False) -> None:
        """`content`: the command puts bytes into the file (a redirect, tee, cp), not only metadata (chmod,
        mkdir); `erases`: it replaces what the file held (`>`, truncate, sed -i), not appends to it."""
        if target is None:
            return
        path = resolve(target, self.cwd)
        place = classify(path, self.worktree)
        if place is Place.HARMLESS_DEVICE:
            return
        if erases and place is not Place.INSIDE and is_trace_file(path, overwrite=via in ("redirect", "tee", "cp")):
            self.add("shell.erase_traces", f"{via} erases {path}, which records what was done")
        if content and is_package_config(path) and place is not Place.SYSTEM:  # system files: system_write
            self.add("shell.package_index", f"{via} writes {path}, which decides where packages come from")
        if place is Place.DEVICE:
            self.add("shell.disk_wipe", f"{via} writes onto the device {path}")
        elif content and runs_code(path) and (place is not Place.INSIDE or "/.git/" in "/" + path):
            self.add("shell.exec_file_write", f"{via} writes {path}, which {code_role(path)}")
        elif content and (place is Place.SYSTEM or path == "/"):
            self.add("shell.system_write", f"{via} writes {path} ({place.value})")
        elif place is Place.SYSTEM:
            self.add("shell.write_outside_worktree", f"{via} changes {path} ({place.value})")
        elif place in (Place.OUTSIDE, Place.ANCESTOR, Place.ROOT_LIKE):
            self.add("shell.write_outside_worktree", f"{via} writes {path} ({place.value})")

    def database_input(self, client: str, text: str) -> None:
        """Statements a database client reads on stdin (`echo 'DROP …' | mysql`, `psql <<EOF`)."""
        from .programs import database_statements

        database_statements(self, client, text)

    def secret_reads(self, name: str, args: list[Arg], facts: Facts) -> None:
        if name in KEY_USERS:
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


def _leading_options(args: list[Arg], with_value: frozenset[str]) -> list[str]:
    """A wrapper's own options: those before the program it runs (`sudo -i`, not the `-s` of `sudo ln -s`)."""
    options: list[str] = []
    i = 0
    while i < len(args) and args[i] is not None and args[i].startswith("-") and args[i] != "--":  # type: ignore[union-attr]
        options.append(args[i])  # type: ignore[arg-type]
        i += 2 if args[i] in with_value else 1
    return options


def _stdin_text(redirects: list[object], walker: Walker) -> str | None:
    """The text a heredoc (`<<EOF`) or here-string (`<<<`) feeds the command, when it is literal."""
    for redirect in redirects:
        kind = getattr(redirect, "type", None)
        heredoc = getattr(redirect, "heredoc", None)
        if kind in ("<<", "<<-") and heredoc is not None:
            value: str = heredoc.value  # type: ignore[attr-defined]
            body, _, _ = value.rpartition("\n")
            return body if "\n" in value else ""
        if kind == "<<<":
            target = getattr(redirect, "output", None)
            if getattr(target, "kind", None) == "word":
                return walker.expand(target)
    return None


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
