"""One checker per program (or program family), and the registry that maps a program's name to it.

A checker reads the command line of the program that really runs (after the walker peeled sudo, env,
xargs, …), adds findings, and records what the command writes to its output (`Facts`) for the pipeline
rules. A program without a checker is only subject to the walker's general rules (credential files in
its arguments, redirects).
"""

from __future__ import annotations

import posixpath
import re

from ..git import git_findings
from ..network import host_of_login, host_of_remote_path, host_of_url, is_loopback
from ..paths import Place, classify, is_credential_file, is_trace_file, resolve
from . import admin, tools
from .inline_code import analyze_code, code_argument
from .options import (
    COPY_VALUE_OPTIONS,
    CURL_VALUE_OPTIONS,
    DISK_TOOLS,
    DOWNLOADERS,
    FIND_TESTS,
    INTERPRETERS,
    NC_VALUE_OPTIONS,
    NETWORK_TOOLS,
    RAW_SOCKETS,
    SHELLS,
    SHUTDOWN,
    SQL_CLIENTS,
    SSH_VALUE_OPTIONS,
    WGET_VALUE_OPTIONS,
    WRITERS_ALL_ARGS,
    WRITERS_LAST_ARG,
    Arg,
    split_options,
)
from .walker import Checker, Facts, Walker

_SECRET_VAR = re.compile(r"(?i)(secret|token|passw|api_?key|access_?key|credential|private_?key)")
_REVERSE_SHELL_CODE = re.compile(r"(?is)socket.*(subprocess|pty\.spawn|dup2|/bin/(ba)?sh|exec\()")
# Versioned interpreter names: python3.11, perl5, ruby3, nodejs, php8
_VERSIONED_INTERPRETER = re.compile(r"python3(\.\d+)?|perl5?|ruby\d*|node(js)?|php\d*")


def shell(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
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
                walk.add("shell.pipe_to_shell", f"{name} -c runs downloaded content")
            else:
                walk.add("shell.dynamic_command", f"{name} -c runs code only known at run time")
        else:
            facts.absorb(walk.script(code))
        return
    positionals = [a for a in args if a is None or not a.startswith("-")]
    if inner.downloads and (
        not positionals or positionals[0] is None or positionals[0].startswith("/dev/fd")
    ):
        walk.add("shell.pipe_to_shell", f"{name} runs downloaded content")
    if not positionals or "-s" in args or positionals[0] == "-":
        if walk.stdin_text is not None:
            facts.absorb(walk.script(walk.stdin_text))
            return
        facts.stdin_program = True
        facts.posix_stdin_shell = name != "fish"


def interpreter(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    has_code, code, _ = code_argument(name, args)
    if has_code:
        if code is None:
            if inner.downloads:
                walk.add("shell.pipe_to_shell", f"{name} runs downloaded code")
            return
        if _REVERSE_SHELL_CODE.search(code):
            walk.add("shell.reverse_shell", f"{name} code connects a socket to a shell")
        analyze_code(walk, name, code, facts)
        return
    for i, arg in enumerate(args):
        if arg is not None and arg.startswith("-m"):
            module = arg[2:] or (args[i + 1] if i + 1 < len(args) else None)
            rest = args[i + 1 :] if arg[2:] else args[i + 2 :]
            if module in ("pip", "pip3"):
                tools.pip(walk, "pip", rest, facts, inner)
            return  # runs an installed module, e.g. `python -m json.tool`
    positionals = [a for a in args if a is None or not a.startswith("-")]
    if inner.downloads and not positionals:
        walk.add("shell.pipe_to_shell", f"{name} runs downloaded code")
    if not positionals or positionals[0] == "-":
        if walk.stdin_text is not None:
            analyze_code(walk, name, walk.stdin_text, facts)
            return
        facts.stdin_program = True


def detach_builtin(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    admin.detached(walk, "background jobs", name)


def awk(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    """awk's program (its first operand, or -f's file) can call system() and write files with print >."""
    _, positionals = split_options(args, frozenset({"-F", "-v", "-f", "--field-separator", "--assign", "--file"}))
    if "-f" in args or not positionals or positionals[0] is None:
        return
    analyze_code(walk, name, positionals[0], facts)


def osascript(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    for i, arg in enumerate(args):
        if arg == "-e" and i + 1 < len(args) and args[i + 1] is not None:
            for command in re.findall(r'do shell script\s+"((?:[^"\\]|\\.)*)"', args[i + 1] or ""):
                facts.absorb(walk.script(command.replace('\\"', '"')))


def eval_(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if any(a is None for a in args):
        if inner.downloads:
            walk.add("shell.pipe_to_shell", "eval runs downloaded content")
        else:
            walk.add("shell.dynamic_command", "eval of text only known at run time")
        return
    facts.absorb(walk.script(" ".join(args)))  # type: ignore[arg-type]


def source(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if inner.downloads:
        walk.add("shell.pipe_to_shell", f"{name} runs downloaded content")
    elif args and args[0] in ("/dev/stdin", "-"):
        facts.stdin_program = True
        facts.posix_stdin_shell = True


def rm(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    flags, targets = split_options(args)
    recursive = any(
        f in ("--recursive",) or (not f.startswith("--") and ("r" in f or "R" in f)) for f in flags
    )
    no_preserve = "--no-preserve-root" in flags
    if not targets and walk.fed_by_xargs and recursive and not walk.upstream_paths_inside:
        walk.add("shell.rm_outside_worktree", f"{name} -r of paths read from input by xargs")
    for target in targets:
        delete(walk, target, recursive or no_preserve, name)


def unlink(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    for target in split_options(args)[1]:
        delete(walk, target, False, name)


def shred(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    for target in split_options(args, frozenset({"-n", "--iterations", "-s", "--size"}))[1]:
        if target is not None and classify(resolve(target, walk.cwd), walk.worktree) is Place.DEVICE:
            walk.add("shell.disk_wipe", f"shred overwrites the device {target}")
        else:
            delete(walk, target, False, name)


def delete(walk: Walker, target: Arg, recursive: bool, name: str) -> None:
    if target is None:
        if recursive:
            walk.add("shell.rm_outside_worktree", f"{name} -r of a path only known at run time")
        return
    path = resolve(target, walk.cwd)
    place = classify(path, walk.worktree)
    if place is not Place.INSIDE and is_trace_file(path) and not walk.filtered_find:  # not log retention
        walk.add("shell.erase_traces", f"{name} deletes {path}, which records what was done")
    if place in (Place.ROOT_LIKE, Place.ANCESTOR):
        if recursive:
            walk.add("shell.rm_root", f"{name} -r deletes {path} ({place.value})")
        else:
            walk.add("shell.rm_outside_worktree", f"{name} deletes files in {path} ({place.value})")
    elif place in (Place.SYSTEM, Place.OUTSIDE, Place.DEVICE):
        walk.add("shell.rm_outside_worktree", f"{name} deletes {path} ({place.value})")
    elif place is Place.INSIDE:
        if path.split("/")[0] == ".git" and (recursive or path == ".git"):
            walk.add("shell.rm_git_dir", f"{name} deletes the repository history in {path}")
        elif recursive and path in (".", "*", ".*"):
            walk.add("shell.rm_worktree", f"{name} -r deletes the whole worktree ({target})")


def find(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
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
    filtered = any(a in FIND_TESTS for a in expression)
    facts.paths_inside = filtered and all(  # unfiltered, `find .` lists the worktree itself
        r is not None and classify(resolve(r, walk.cwd), walk.worktree) is Place.INSIDE for r in roots
    )
    if "-delete" in expression:
        for root in roots:
            if root is None:
                walk.add("shell.rm_outside_worktree", "find -delete under a directory only known at run time")
                continue
            path = resolve(root, walk.cwd)
            place = classify(path, walk.worktree)
            if place in (Place.ROOT_LIKE, Place.ANCESTOR) and not filtered:
                walk.add("shell.rm_root", f"find -delete empties {path} ({place.value})")
            elif place not in (Place.INSIDE, Place.TMP, Place.HARMLESS_DEVICE):
                walk.add(
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
            walk.filtered_find = filtered
            try:
                facts.absorb(walk.run(sub, [], Facts()))
            finally:
                walk.filtered_find = False


def chmod(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    flags, positionals = split_options(args, frozenset({"--reference", "--from"}))
    if name == "chmod" and positionals and not any(f.startswith("--reference") for f in flags):
        mode, positionals = positionals[0], positionals[1:]
        admin.chmod_setuid(walk, name, mode, " ".join(p for p in positionals if p) or "a file")
    elif name in ("chown", "chgrp") and positionals and not any(f.startswith("--reference") for f in flags):
        positionals = positionals[1:]
    recursive = any(f == "--recursive" or (not f.startswith("--") and "R" in f) for f in flags)
    for target in positionals:
        if target is None:
            continue
        path = resolve(target, walk.cwd)
        place = classify(path, walk.worktree)
        if recursive and place in (Place.ROOT_LIKE, Place.ANCESTOR):
            walk.add("shell.chmod_root", f"{name} -R changes {path} ({place.value})")
        else:
            walk.write(target, name, content=False)


def dd(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    for arg in args:
        if arg is not None and arg.startswith("of="):
            walk.write(arg[3:], "dd")
        if arg is not None and arg.startswith("if="):
            walk.secret_reads("dd", [arg[3:]], facts)


def disk_tool(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    positionals = split_options(args)[1]
    if name == "fdisk" and "-l" in args:
        return
    for target in positionals or [None]:
        if target is None or target.startswith("/dev/"):
            walk.add("shell.disk_wipe", f"{name} rewrites {'a device' if target is None else target}")
            return


def shutdown(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if "--help" in args:
        return
    walk.add("shell.shutdown", f"{name} stops the machine")


def init(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if args and args[0] in ("0", "6"):
        walk.add("shell.shutdown", f"{name} {args[0]} stops the machine")


def kill(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    pids = args[1:] if args and args[0] is not None and args[0].startswith("-") and len(args) > 1 else args
    if "-1" in pids:
        walk.add("shell.shutdown", "kill -1 signals every process the user can reach")


def killall5(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    walk.add("shell.shutdown", "killall5 signals every process")


def crontab(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    flags, positionals = split_options(args, frozenset({"-u"}))
    if "-r" in flags:
        walk.add("shell.rm_outside_worktree", "crontab -r deletes the user's crontab")
    elif not flags & {"-l", "-e"} or positionals:
        walk.add("shell.exec_file_write", "crontab installs commands that run on a schedule")


def sed(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if not any(a is not None and (a.startswith("-i") or a.startswith("--in-place")) for a in args):
        return
    _, positionals = split_options(args, frozenset({"-e", "-f", "--expression", "--file", "-l"}))
    has_script_option = any(a in ("-e", "-f", "--expression", "--file") for a in args)
    for target in positionals if has_script_option else positionals[1:]:
        walk.write(target, "sed -i", erases=True)


def tar(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
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
            walk.write(directory, "tar -x")


def git(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    admin.keyring(walk, name, args, facts, inner)
    walk.scan.findings.extend(git_findings(args, walk.git, walk.policy))
    if args and args[0] in ("clone", "fetch", "pull", "ls-remote"):
        facts.network = True


def cd(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    target = next((a for a in args if a is None or not a.startswith("-")), "~")
    if target is None:
        walk.cwd = "/unknown-directory"
    elif target != "-":
        walk.cwd = resolve(target, walk.cwd)


def terraform(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if "destroy" in args or "-destroy" in args:
        walk.add("shell.remote_destroy", "terraform destroy tears down infrastructure")


def kubectl(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    admin.keyring(walk, name, args, facts, inner)
    if "delete" in args or "drain" in args:
        walk.add("shell.remote_destroy", "kubectl delete removes cluster resources")


def helm(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if args and args[0] in ("uninstall", "delete", "del"):
        walk.add("shell.remote_destroy", "helm uninstall removes a release")


def aws(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    admin.keyring(walk, name, args, facts, inner)
    if (
        len(args) >= 2
        and args[0] == "s3"
        and (args[1] == "rb" or (args[1] == "rm" and "--recursive" in args))
    ):
        walk.add("shell.remote_destroy", f"aws s3 {args[1]} deletes a bucket's contents")
    elif any(a is not None and (a.startswith("delete-") or a.startswith("terminate-")) for a in args[1:2]):
        walk.add("shell.remote_destroy", f"aws {args[0]} {args[1]} deletes cloud resources")


def gsutil(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if args and args[0] in ("rm", "rb") and ("-r" in args or args[0] == "rb"):
        walk.add("shell.remote_destroy", f"gsutil {args[0]} deletes bucket contents")


def dropdb(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    walk.add("shell.remote_destroy", "dropdb deletes a database")


def docker(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    if (
        len(args) >= 2
        and args[0] in ("system", "volume")
        and args[1] in ("prune", "rm")
        and ("--volumes" in args or args[0] == "volume")
    ):
        walk.add("shell.remote_destroy", f"docker {args[0]} {args[1]} deletes volumes and their data")
    for i, arg in enumerate(args):
        if (
            arg in ("-v", "--volume")
            and i + 1 < len(args)
            and args[i + 1] is not None
            and args[i + 1].split(":")[0] in ("/", "/etc", "~")
        ):
            walk.add(
                "shell.write_outside_worktree",
                f"docker mounts {args[i + 1].split(':')[0]} into a container",
            )


def writer_last(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    # -f takes a value only for rename; for cp, mv and ln it is --force
    flags, positionals = split_options(args, COPY_VALUE_OPTIONS if name == "rename" else COPY_VALUE_OPTIONS - {"-f"})
    targets = [a for i, a in enumerate(args) if i > 0 and args[i - 1] in ("-t", "--target-directory")]
    if name == "rsync":
        remote = [p for p in positionals if p is not None and host_of_remote_path(p)]
        if remote:
            network(walk, name, args, facts, inner)
            return
    if not targets and len(positionals) >= 2:
        targets = [positionals[-1]]
    if name == "install" and ("-d" in flags or "--directory" in flags):
        targets = positionals
    if name == "install":
        for i, arg in enumerate(args):
            if arg in ("-m", "--mode") and i + 1 < len(args):
                admin.chmod_setuid(walk, name, args[i + 1], " ".join(str(t) for t in targets) or "a file")
            elif arg is not None and arg.startswith("--mode="):
                admin.chmod_setuid(walk, name, arg.split("=", 1)[1], " ".join(str(t) for t in targets) or "a file")
    if name == "ln" and any(s == "/dev/null" for s in positionals[:-1]):
        for target in targets:
            if target is not None and is_trace_file(resolve(target, walk.cwd)):
                walk.add("shell.erase_traces", f"ln points {target} at /dev/null, so nothing is recorded")
    if name == "cp" and positionals[:1] == ["/dev/null"]:
        for target in targets:
            walk.write(target, name, erases=True)
    for target in targets:
        walk.write(target, name)
    if name == "mv":
        for source in positionals[:-1]:
            if source is not None and classify(resolve(source, walk.cwd), walk.worktree) in (
                Place.ROOT_LIKE,
                Place.ANCESTOR,
            ):
                walk.add("shell.rm_outside_worktree", f"mv moves away {source}")


def writer_all(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    _, positionals = split_options(
        args, frozenset({"-s", "--size", "-m", "--mode", "-r", "--reference", "-d", "-t"})
    )
    for target in positionals:
        erases = name == "truncate" or (name == "tee" and not ({"-a", "--append"} & set(a for a in args if a)))
        walk.write(target, name, content=name in ("tee", "truncate"), erases=erases)
    if name == "tee":
        facts.literal_output = None


def network(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    facts.network = True
    tools.http_delete(walk, name, args)
    facts.raw_socket = name in RAW_SOCKETS
    hosts: list[str | None] = []
    uploads: list[str] = []
    if name in DOWNLOADERS:
        value_options = CURL_VALUE_OPTIONS if name != "wget" else WGET_VALUE_OPTIONS
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
        flags, positionals = split_options(args, NC_VALUE_OPTIONS)
        joined = "".join(f.lstrip("-") for f in flags if not f.startswith("--"))
        if (
            "e" in joined
            or "c" in joined
            or any(f in ("--exec", "--sh-exec", "--lua-exec") for f in flags)
            or any(a in ("-e", "-c") for a in args)
        ):
            walk.add("shell.reverse_shell", f"{name} -e hands a shell to a network peer")
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
            walk.add("shell.reverse_shell", "socat connects a program to a network socket")
        for arg in args:
            if arg is None:
                continue
            match = re.match(r"(?i)^(?:tcp|tcp4|tcp6|udp|openssl|ssl)[46]?:([^:,]+)", arg)
            if match:
                hosts.append(match.group(1))
        facts.downloads = True
    elif name == "telnet":
        positionals = split_options(args)[1]
        if positionals:
            hosts.append(positionals[0])
        facts.downloads = True
    elif name == "sshpass":
        if "-p" in args:
            walk.add("shell.inline_secret", "sshpass passes a password on the command line")
        return
    elif name == "ssh":
        positionals = split_options(args, SSH_VALUE_OPTIONS)[1]
        if positionals:
            hosts.append(None if positionals[0] is None else host_of_login(positionals[0]))
    elif name in ("scp", "sftp", "rsync"):
        flags, positionals = split_options(
            args, SSH_VALUE_OPTIONS | frozenset({"-e", "--rsh", "--exclude", "--include", "--filter"})
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
        for arg in split_options(args)[1]:
            hosts.append(None if arg is None else host_of_url(arg))
    leaving = False
    for host in hosts:
        if host is None:
            leaving = True
            walk.add("shell.network_egress", f"{name} talks to a host only known at run time")
        elif host == "listening socket":
            leaving = True
            walk.add("shell.network_egress", f"{name} opens a listening socket")
        elif not is_loopback(host) and not walk.policy.host_allowed(host):
            leaving = True
            walk.add("shell.network_egress", f"{name} talks to {host}, which is not on the egress allowlist")
    for upload in uploads:
        path = (
            upload.lstrip("@<")
            if upload.startswith(("@", "<")) or name in ("scp", "rsync", "sftp") or "=@" in upload
            else None
        )
        if "=@" in upload:
            path = upload.split("=@", 1)[1]
        if path and is_credential_file(resolve(path, walk.cwd)):
            walk.add("shell.secret_exfiltration", f"{name} uploads the credential file {path}")
    if inner.reads_secret or inner.dumps_env:
        what = "credentials" if inner.reads_secret else "the environment"
        walk.add("shell.secret_exfiltration", f"{name} sends {what} from a command substitution")
    secret_vars = sorted(
        {
            v
            for w in walk.raw_words
            for v in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", w)
            if _SECRET_VAR.search(v)
        }
    )
    if leaving and secret_vars:
        walk.add("shell.secret_exfiltration", f"{name} sends ${secret_vars[0]} to a host off the allowlist")


def sql_client(walk: Walker, name: str, args: list[Arg], facts: Facts, inner: Facts) -> None:
    sql_texts: list[str] = []
    if name in ("sqlite3", "duckdb") and not any(a in SQL_CLIENTS.get(name, ()) for a in args):
        positionals = split_options(args, frozenset({"-cmd", "-separator", "-nullvalue"}))[1]
        sql_texts = [p for p in positionals[1:] if p is not None]
        if len(positionals) <= 1:
            facts.stdin_database = name
    else:
        options = SQL_CLIENTS[name]
        for i, arg in enumerate(args):
            if arg is None:
                continue
            if arg in options and i + 1 < len(args) and args[i + 1] is not None:
                sql_texts.append(args[i + 1])  # type: ignore[arg-type]
            for option in options:
                if option.startswith("--") and arg.startswith(option + "="):
                    sql_texts.append(arg.split("=", 1)[1])
        if not sql_texts and not any(a in ("-f", "--file") for a in args):
            facts.stdin_database = name
    if walk.stdin_text is not None and facts.stdin_database:
        sql_texts.append(walk.stdin_text)
    for text in sql_texts:
        database_statements(walk, name, text)


def database_statements(walk: Walker, client: str, text: str) -> None:
    """Statements a database client runs: SQL through the SQL analyzer, MongoDB and Redis by their verbs."""
    from ..sql import analyze_sql

    if client in ("mongo", "mongosh"):
        tools.mongo(walk, client, ["--eval", text], Facts(), Facts())
        return
    if client == "redis-cli":
        for line in text.splitlines():
            tools.redis_cli(walk, client, line.split(), Facts(), Facts())  # type: ignore[arg-type]
        return
    for finding in analyze_sql(text):
        if finding.rule not in (
            "sql.unparseable",
            "sql.unrecognised",
        ):  # client meta-commands such as \dt
            walk.scan.findings.append(finding)


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


CHECKERS: dict[str, Checker] = {
    **dict.fromkeys(SHELLS, shell),
    **dict.fromkeys(INTERPRETERS, interpreter),
    **dict.fromkeys(SHUTDOWN, shutdown),
    **dict.fromkeys(DISK_TOOLS, disk_tool),
    **dict.fromkeys(WRITERS_LAST_ARG, writer_last),
    **dict.fromkeys(WRITERS_ALL_ARGS, writer_all),
    # rsync is checked as a copy; writer_last hands it to `network` when a path names a host
    **dict.fromkeys(NETWORK_TOOLS - WRITERS_LAST_ARG, network),
    **dict.fromkeys((*SQL_CLIENTS, "sqlite3"), sql_client),
    "eval": eval_,
    "source": source,
    ".": source,
    "rm": rm,
    "unlink": unlink,
    "shred": shred,
    "find": find,
    "chmod": chmod,
    "chown": chmod,
    "chgrp": chmod,
    "dd": dd,
    "init": init,
    "telinit": init,
    "systemctl": admin.systemctl,
    "kill": kill,
    "killall5": killall5,
    "crontab": crontab,
    "sed": sed,
    "tar": tar,
    "git": git,
    "cd": cd,
    "pushd": cd,
    "terraform": terraform,
    "kubectl": kubectl,
    "helm": helm,
    "aws": aws,
    "gsutil": gsutil,
    "dropdb": dropdb,
    "redis-cli": tools.redis_cli,
    "docker": docker,
    # services, firewalls, protections
    **dict.fromkeys(("service", "rc-service", "invoke-rc.d", "update-rc.d", "chkconfig", "sv", "rc-update"), admin.service),
    "launchctl": admin.launchctl,
    **dict.fromkeys(("iptables", "ip6tables", "iptables-legacy", "iptables-nft", "ip6tables-legacy", "ip6tables-nft"), admin.iptables),
    "nft": admin.nft,
    "ufw": admin.ufw,
    "firewall-cmd": admin.firewall_cmd,
    "setenforce": admin.setenforce,
    **dict.fromkeys(("aa-disable", "aa-teardown", "aa-complain", "apparmor_parser"), admin.apparmor),
    "pfctl": admin.pfctl,
    **dict.fromkeys(("spctl", "csrutil"), admin.macos_security),
    "netsh": admin.netsh,
    "sysctl": admin.sysctl,
    # secrets printed
    **dict.fromkeys(admin.PRINTERS, admin.printer),
    "printenv": admin.printenv,
    **dict.fromkeys(("cat", "head", "tail", "less", "more", "base64", "xxd", "od", "strings", "tac"), admin.reader),
    **dict.fromkeys(("compgen",), admin.set_variables),
    **dict.fromkeys(("pkill", "killall"), admin.kill_daemon),
    "systemd-run": admin.systemd_run,
    "mysqladmin": tools.mysqladmin,
    "dropuser": dropdb,
    "mc": tools.minio,
    **dict.fromkeys(("awk", "gawk", "mawk", "nawk"), awk),
    "osascript": osascript,
    "pipenv": tools.pip,
    "composer": tools.composer,
    **dict.fromkeys(("nuget", "dotnet"), tools.nuget),
    **dict.fromkeys(("security", "secret-tool", "gpg", "gpg2", "pass", "op", "vault", "keyring", "keyctl"), admin.keyring),
    **dict.fromkeys(("grep", "egrep", "rg", "ag"), admin.grep),
    # users and privileges
    "su": admin.su,
    **dict.fromkeys(("useradd", "usermod", "adduser", "addgroup", "groupadd", "groupmod", "gpasswd"), admin.user_admin),
    **dict.fromkeys(("passwd", "chpasswd"), admin.passwd),
    "visudo": admin.visudo,
    "setcap": admin.setcap,
    # shell history, logs, audit
    **dict.fromkeys(("export", "declare", "typeset", "readonly", "local"), admin.export),
    "unset": admin.unset,
    "history": admin.history,
    "set": admin.set_,
    "journalctl": admin.journalctl,
    "auditctl": admin.auditctl,
    "dmesg": admin.dmesg,
    "wevtutil": admin.wevtutil,
    # detached processes
    "screen": admin.screen,
    "tmux": admin.tmux,
    **dict.fromkeys(("at", "batch"), admin.at),
    **dict.fromkeys(("daemonize", "start-stop-daemon"), admin.daemonize),
    "disown": detach_builtin,
    # package managers
    **dict.fromkeys(("pip", "pip3", "uv", "pipx", "pdm", "rye", "hatch"), tools.pip),
    "poetry": tools.poetry,
    **dict.fromkeys(("npm", "pnpm", "yarn", "bun", "npx"), tools.npm),
    **dict.fromkeys(("gem", "bundle"), tools.gem),
    "go": tools.go,
    "cargo": tools.cargo,
    **dict.fromkeys(("conda", "mamba", "micromamba"), tools.conda),
    **dict.fromkeys(("add-apt-repository", "apt-key", "dnf", "yum", "yum-config-manager", "rpm"), tools.apt_repository),
    # databases
    **dict.fromkeys(("mongo", "mongosh", "mongorestore"), tools.mongo),
    **dict.fromkeys(("etcdctl", "influx", "kafka-topics", "kafka-topics.sh", "consul", "zkCli.sh", "zkCli"), tools.nosql),
    # git hosts and clouds
    **dict.fromkeys(tools.HOST_CLIS, tools.host_cli),
}


def checker_for(name: str) -> Checker | None:
    """The checker of the program `name` (a base name), or None when it has none."""
    if name.startswith("mkfs"):  # mkfs, mkfs.ext4, mkfs.vfat, …
        return disk_tool
    checker = CHECKERS.get(name)
    if checker is None and _VERSIONED_INTERPRETER.fullmatch(name):
        return interpreter
    return checker
