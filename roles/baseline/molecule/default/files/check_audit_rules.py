#!/usr/bin/python3
"""Syntax check of an audit rules file where auditctl cannot load it (a container).

Checks each rule's options and values the way auditctl would: watches need an absolute
path and r/w/x/a permissions, syscall rules a known list and action, syscall names that
the architecture knows (ausyscall), known fields, keys of at most 31 characters.
Prints one line per problem and exits 1 if any."""

import re
import shlex
import subprocess
import sys

FIELDS = {
    "arch",
    "auid",
    "euid",
    "uid",
    "gid",
    "egid",
    "exit",
    "success",
    "path",
    "dir",
    "perm",
    "key",
    "pid",
    "ppid",
    "exe",
    "subj_type",
    "obj_type",
    "filetype",
}
LISTS = {"always,exit", "exit,always", "never,exit", "always,task", "never,task"}


def syscall_known(name, arch):
    machine = "x86_64" if arch == "b64" else "i386"
    out = subprocess.run(
        ["ausyscall", machine, name, "--exact"],
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    )
    return out.returncode == 0 and out.stdout.strip().isdigit()


def check(line):
    tokens = shlex.split(line)
    opts = {}
    fields = []
    syscalls = []
    it = iter(tokens)
    for token in it:
        if token in (
            "-w",
            "-p",
            "-k",
            "-a",
            "-F",
            "-S",
            "-e",
            "-D",
            "-b",
            "-f",
            "--backlog_wait_time",
        ):
            value = next(it, None)
            if value is None:
                return f"{token} without a value"
            if token == "-F":
                fields.append(value)
            elif token == "-S":
                syscalls.extend(value.split(","))
            else:
                opts[token] = value
        else:
            return f"unknown option {token!r}"
    if "-w" in opts:
        if not opts["-w"].startswith("/"):
            return "watch path is not absolute"
        if "-p" in opts and not re.fullmatch(r"[rwxa]+", opts["-p"]):
            return f"bad permissions {opts['-p']!r}"
    if "-a" in opts and opts["-a"] not in LISTS:
        return f"bad list,action {opts['-a']!r}"
    arch = "b64"
    for field in fields:
        parts = re.split(r"(!=|>=|<=|=|>|<)", field, maxsplit=1)
        if len(parts) != 3:
            return f"field {field!r} has no operator"
        name, _, value = parts
        if name not in FIELDS:
            return f"unknown field {name!r}"
        if name == "arch":
            arch = value
    for name in syscalls:
        if not syscall_known(name, arch):
            return f"unknown syscall {name!r} for {arch}"
    if "-k" in opts and len(opts["-k"]) > 31:
        return "key longer than 31 characters"
    if "-e" in opts and opts["-e"] not in ("0", "1", "2"):
        return "bad -e value"
    return None


problems = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            problem = check(line)
            if problem:
                print(f"{path}:{number}: {problem}")
                problems += 1
sys.exit(1 if problems else 0)
