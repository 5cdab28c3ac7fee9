"""Host names out of command arguments, and what counts as leaving the machine."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_SCP_LIKE = re.compile(r"^(?:[^@/:\s]+@)?(?P<host>[A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9a-fA-F:]+\]):(?!//)")
_BARE_HOST = re.compile(
    r"^(?:[^@/:\s]+@)?(?P<host>(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,63}|localhost|(?:\d{1,3}\.){3}\d{1,3})(?::\d+)?(?:[/?#].*)?$"
)
_USER_AT_HOST = re.compile(r"^(?:[^@/:\s]+@)?(?P<host>[A-Za-z0-9][A-Za-z0-9.-]*)$")


def host_of_url(arg: str) -> str | None:
    """The host an argument like 'https://h/x', 'h.tld/x', 'user@h:path' or 'h:443' points at, if any."""
    if "://" in arg:
        try:
            host = urlsplit(arg).hostname
        except ValueError:
            return None
        return host.lower() if host else None
    match = _BARE_HOST.match(arg)
    if match:
        return match.group("host").lower()
    return None


def host_of_remote_path(arg: str) -> str | None:
    """The host of an scp/rsync style 'user@host:path' argument; None for a local path."""
    if "://" in arg:
        return host_of_url(arg)
    match = _SCP_LIKE.match(arg)
    if match and "/" not in arg.split(":", 1)[0]:
        return match.group("host").strip("[]").lower()
    return None


def host_of_login(arg: str) -> str | None:
    """The host of an ssh style '[user@]host' argument."""
    if "://" in arg:
        return host_of_url(arg)
    match = _USER_AT_HOST.match(arg)
    return match.group("host").lower() if match else None


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in ("localhost", "ip6-localhost") or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified
