"""Code handed to an interpreter on its command line (`python -c`, `perl -e`, `ruby -e`, `node -e`,
`php -r`, `lua -e`) or in a heredoc (`python - <<EOF`).

The code is not run or fully parsed; it is read for what a shell command would do: the strings it hands
to the system (`os.system("…")`, `subprocess.run([...])`, `system(…)`, backticks, `child_process.exec`)
are walked as shell, so they meet every shell rule; and the language's own ways of doing the same acts
are recognised — recursive deletes (`shutil.rmtree`, `File::Path::rmtree`, `FileUtils.rm_rf`,
`fs.rmSync(…, {recursive})`), download-and-execute, sockets wired to a shell, files opened for writing,
credential files and secret-named environment variables read, HTTP DELETE.
"""

from __future__ import annotations

import re

from ..network import host_of_url, is_loopback
from ..paths import is_credential_file, resolve
from .admin import SECRET_NAME, miner_arguments
from .walker import Facts, Walker

# Which short option takes the program text, per interpreter family (perl's `-pe`, `-lne` bundles end in it).
CODE_FLAGS: dict[str, tuple[str, ...]] = {
    "python": ("c",),
    "perl": ("e", "E"),
    "ruby": ("e",),
    "node": ("e", "p"),
    "php": ("r",),
    "lua": ("e",),
    "Rscript": ("e",),
}
LONG_CODE_FLAGS = ("--eval", "--print", "--command")

_STRING = r"""(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|`((?:[^`\\]|\\.)*)`)"""
_SHELL_CALL = re.compile(
    r"(?:\bos\.(?:system|popen|exec[lv]p?e?)|\bsubprocess\.\w+|\bcommands\.getoutput|\bpty\.spawn"
    r"|\b(?:system|exec|qx|shell_exec|passthru|popen|proc_open|execSync|exec_command|spawnSync|spawn|execFileSync|execFile|execute|getoutput|check_output|check_call|call|run|Popen)"
    r"|\bos\.execute|\bio\.popen|\bKernel\.(?:system|exec|spawn)|\bOpen3\.\w+|\bIO\.popen|%x)"
    r"\s*[\(\{\[]?\s*(\[[^\]]*\]|" + _STRING + r")"
)
_EXEC_WITH_ARGV = re.compile(
    r"\b(?:exec[lv]p?e?|spawn[lv]p?e?|spawn|spawnSync|execFile|execFileSync)\s*\(\s*"
    + _STRING
    + r"\s*,\s*(\[[^\]]*\])"
)
_BACKTICK = re.compile(r"`([^`]+)`")
_PERL_QX = re.compile(r"\bqx\s*([\{\(\[/|!])(.*?)[\}\)\]/|!]", re.S)
_LIST_ITEM = re.compile(_STRING)
_RECURSIVE_DELETE = re.compile(
    r"(?:shutil\.rmtree|\brmtree|\bremove_tree|FileUtils\.(?:rm_rf|rm_r|remove_dir|remove_entry(?:_secure)?)"
    r"|\b(?:rmSync|rmdirSync)|\bfs(?:\.promises)?\.(?:rm|rmdir)|\brimraf(?:\.sync)?|\bfs::remove_dir_all)"
    r"\s*\(\s*(?:os\.path\.expanduser\(\s*|Path\(\s*|File\.expand_path\(\s*|path\.resolve\(\s*)?" + _STRING
)
_HOME_DELETE = re.compile(
    r"(?:shutil\.rmtree|\brmtree|\bremove_tree|FileUtils\.rm_r?f?|\b(?:rmSync|rmdirSync)|\bfs(?:\.promises)?\.(?:rm|rmdir)|\brimraf(?:\.sync)?)"
    r"\s*\(\s*(?:os\.environ\[['\"]HOME['\"]\]|"
    r"os\.getenv\(['\"]HOME['\"]\)|\$ENV\{HOME\}|ENV\[['\"]HOME['\"]\]|Path\.home\(\)|(?:require\(['\"]os['\"]\)\.|os\.)homedir\(\)|Dir\.home"
    r"|process\.env\.HOME|os\.path\.expanduser\(\s*['\"]~/?['\"]\s*\))"
)
_FILE_DELETE = re.compile(r"(?:os\.(?:remove|unlink)|\bunlink|File\.delete|fs\.unlinkSync)\s*\(\s*" + _STRING)
_PERL_OPEN = re.compile(
    r"""\bopen\s*\(?\s*(?:my\s+)?\$?\w+\s*,\s*(?:['"](>>?)['"]\s*,\s*['"]([^'"]+)['"]|['"](>>?)\s*([^'"]+)['"])"""
)
_WRITE_CALL = re.compile(
    r"(?:file_put_contents|fs\.(?:writeFileSync|appendFileSync|writeFile|appendFile)|File\.write)\s*\(\s*"
    + _STRING
)
_DOWNLOAD = re.compile(
    r"urllib|urlopen|urlretrieve|requests\.get|requests\.post|httpx|http\.client|LWP|HTTP::Tiny|getstore|\bget\s*\(\s*['\"]https?:"
    r"|open-uri|Net::HTTP|URI\.open|https?\.get|\bfetch\s*\(|axios|file_get_contents\s*\(\s*['\"]https?:|curl_exec|wget|curl"
)
_EXECUTE = re.compile(
    r"\bexec\s*\(|\beval\s*\(|\bcompile\s*\(|\bsubprocess|\bos\.system|\bsystem\s*\(|\bFunction\s*\(|\bvm\.run|child_process"
    r"|\binstance_eval|\bKernel\.eval|\brequire\s*\(?\s*['\"]https?:|\binclude\s*\(?\s*['\"]https?:|\bsh\b|\bbash\b|\bchmod\b|\bpopen"
)
_SOCKET = re.compile(
    r"socket|fsockopen|TCPSocket|IO::Socket|net\.connect|net\.Socket|new\s+net\.|createConnection|Socket\.new|stream_socket_client"
)
_SHELL_WIRING = re.compile(
    r"dup2|pty\.spawn|subprocess|/bin/(?:ba|z|da)?sh\b|\bsh\s*['\"]|cmd\.exe|\bexec\s*[\(\{]|spawn|popen|proc_open|\bSTDIN\b|\bSTDOUT\b|pipe\(|shell_exec|child_process"
)
_SECRET_ENV = re.compile(
    r"""(?:os\.environ(?:\.get)?\s*[\[\(]\s*|os\.getenv\s*\(\s*|\$ENV\{\s*|ENV\[\s*|ENV\.fetch\(\s*|process\.env\.|process\.env\[\s*|getenv\s*\(\s*)['"]?([A-Za-z_][A-Za-z0-9_]*)"""
)
_PRINTS = re.compile(
    r"\bprint|\bputs\b|\bp\s|console\.(?:log|error|info)|\becho\b|\bsay\b|printf|sys\.stdout|\bwrite\(|\bdump|\bpp\b|var_dump|json\.dumps"
)
_ENV_DUMP = re.compile(
    r"(?:print|puts|console\.log|p|pp|var_dump|print_r|json\.dumps)\s*\(?\s*(?:dict\()?\s*(?:os\.environ|ENV|process\.env|\$_ENV|%ENV|getenv\(\))\s*\)?\s*\)?\s*(?:;|$|\n)"
)
_HTTP_DELETE = re.compile(
    r"requests\.delete\s*\(|method\s*[:=]\s*['\"]DELETE['\"]|Net::HTTP::Delete|->delete\s*\(|\.delete\s*\(\s*['\"]https?:"
)
_DECODED_EXEC = re.compile(
    r"\b(?:exec|eval|compile|Function|instance_eval|system|assert)\s*\([^;]*?(?:b64decode|base64|decode\s*\(|fromhex|unhexlify|decompress"
    r"|atob|Buffer\.from|pack\s*\(|rot13|reverse|chr\s*\(|fromCharCode|str_rot13|gzinflate|gzuncompress|unpack)",
    re.S,
)
_DELETE_CALL = re.compile(
    r"\b(?:remove|unlink|rmtree|rmdir|rm_rf|rm_r|rmSync|rmdirSync|remove_tree|delete|removedirs)\b"
)
_ROOT_LIKE_LITERALS = frozenset(
    {"/", "/*", "~", "~/", "/home", "/etc", "/usr", "/var", "/root", "/boot", "/bin", "/lib"}
)
_URL = re.compile(r"""https?://[^\s'"`)\]}>]+""")


def interpreter_family(name: str) -> str:
    for family in ("python", "perl", "ruby", "node", "php", "lua", "Rscript"):
        if name.startswith(family) or (family == "node" and name == "nodejs"):
            return family
    return name


def code_argument(name: str, args: list[str | None]) -> tuple[bool, str | None, int]:
    """(whether the command line carries code, the code if known, index of the code)."""
    flags = CODE_FLAGS.get(interpreter_family(name), ("c", "e"))
    for i, arg in enumerate(args):
        if arg is None:
            return False, None, -1
        if not arg.startswith("-") or arg == "-":
            return False, None, -1
        if arg.startswith("--"):
            option, eq, value = arg.partition("=")
            if option in LONG_CODE_FLAGS:
                return True, (value if eq else (args[i + 1] if i + 1 < len(args) else None)), i
            continue
        if arg[-1] in flags and not arg.startswith("-m") and not arg.startswith("-W"):
            return True, args[i + 1] if i + 1 < len(args) else None, i
        if arg.startswith("-m"):
            return False, None, -1
    return False, None, -1


def analyze_code(walk: Walker, name: str, code: str, facts: Facts) -> None:
    """Score `code` (run by the interpreter `name`) as what it would do as shell."""
    from .programs import delete  # programs registers this module's caller: imported late to avoid a cycle

    for command in shell_strings(code):
        facts.absorb(walk.script(command))
    for match in _RECURSIVE_DELETE.finditer(code):
        target = _string_value(match)
        if target is not None:
            delete(walk, target, True, f"{name} code ({_callee(match.group(0))})")
    if _HOME_DELETE.search(code):
        delete(walk, "~", True, f"{name} code")
    for match in _FILE_DELETE.finditer(code):
        target = _string_value(match)
        if target is not None:
            delete(walk, target, False, f"{name} code")
    for match in _PERL_OPEN.finditer(code):
        mode = match.group(1) or match.group(3)
        path = (match.group(2) or match.group(4) or "").strip()
        if path:
            walk.write(path, f"{name} code opens {mode}", erases=mode == ">")
    for match in re.finditer(r"\bopen\s*\(\s*" + _STRING + r"\s*,\s*['\"]([wax])", code):
        path = _string_value(match)
        if path is not None:
            walk.write(path, f"{name} code opens for writing", erases=match.group(4) == "w")
    for match in _WRITE_CALL.finditer(code):
        path = _string_value(match)
        if path is not None:
            walk.write(path, f"{name} code writes")
    if _DECODED_EXEC.search(code):
        walk.add(
            "shell.dynamic_command", f"{name} code runs text it decodes at run time (base64, hex, zlib, …)"
        )
    if _DELETE_CALL.search(code):
        for literal in string_literals(code):
            if literal in _ROOT_LIKE_LITERALS:
                delete(walk, literal, True, f"{name} code")
    downloads = bool(_DOWNLOAD.search(code))
    if downloads and _EXECUTE.search(code):
        walk.add("shell.pipe_to_shell", f"{name} code downloads content and runs it")
    if _SOCKET.search(code) and _SHELL_WIRING.search(code):
        walk.add("shell.reverse_shell", f"{name} code connects a socket to a shell")
    if _HTTP_DELETE.search(code):
        walk.add("shell.remote_destroy", f"{name} code sends an HTTP DELETE")
    for literal in string_literals(code):
        path = literal.strip()
        if path and " " not in path and is_credential_file(resolve(path, walk.cwd)):
            facts.reads_secret = True
            walk.add("shell.secret_read", f"{name} code reads the credential file {path}")
    secret_vars = [m.group(1) for m in _SECRET_ENV.finditer(code) if SECRET_NAME.search(m.group(1))]
    if secret_vars and (_PRINTS.search(code) or downloads):
        facts.reads_secret = True
        walk.add("shell.secret_print", f"{name} code prints or sends ${secret_vars[0]}")
    if _ENV_DUMP.search(code):
        facts.dumps_env = True
        walk.add("shell.secret_print", f"{name} code prints the whole environment")
    hosts = []
    for url in _URL.findall(code):
        host = host_of_url(url)
        if host and not is_loopback(host) and not walk.policy.host_allowed(host):
            hosts.append(host)
    for host in dict.fromkeys(hosts):
        walk.add("shell.network_egress", f"{name} code talks to {host}, which is not on the egress allowlist")
        if secret_vars or _ENV_DUMP.search(code) or "environ" in code and downloads:
            walk.add("shell.secret_exfiltration", f"{name} code sends secrets to {host}")
    miner_arguments(walk, name, list(string_literals(code)))


def shell_strings(code: str) -> list[str]:
    """The commands `code` hands to a shell or runs as a program: string arguments of system-like calls,
    argument lists joined into a command line, backticks and qx{}."""
    commands: list[str] = []
    for match in _EXEC_WITH_ARGV.finditer(code):  # os.execvp("rm", ["rm", "-rf", "/"]): the list is argv
        program = _string_value(match) or ""
        items = [i for m in _LIST_ITEM.finditer(match.group(4)) if (i := _string_value(m)) is not None]
        if not items or items[0].rsplit("/", 1)[-1] != program.rsplit("/", 1)[-1]:
            items = [program, *items]  # spawn("bash", ["-c", …]): the list holds only the arguments
        commands.append(" ".join(_quote(i) for i in items))
    for match in _SHELL_CALL.finditer(code):
        argument = match.group(1)
        if argument.startswith("["):
            items = [_string_value(m) for m in _LIST_ITEM.finditer(argument)]
            commands.append(" ".join(_quote(i) for i in items if i is not None))
        else:
            value = _string_value(match, offset=1)
            if value is not None:
                commands.append(value)
    commands.extend(m.group(1) for m in _BACKTICK.finditer(code) if not m.group(1).startswith("${"))
    commands.extend(m.group(2) for m in _PERL_QX.finditer(code))
    return [c for c in dict.fromkeys(commands) if c.strip()]


def string_literals(code: str) -> list[str]:
    return [v for m in re.finditer(_STRING, code) if (v := _string_value(m)) is not None]


def _string_value(match: re.Match[str], offset: int = 0) -> str | None:
    groups = match.groups()[offset:]
    for value in groups[:3]:
        if value is not None:
            return value.replace("\\'", "'").replace('\\"', '"').replace("\\\\", "\\")
    return None


def _quote(item: str) -> str:
    return (
        item if item and re.fullmatch(r"[\w@%+=:,./~*-]+", item) else "'" + item.replace("'", "'\\''") + "'"
    )


def _callee(text: str) -> str:
    return text.split("(")[0].strip()
