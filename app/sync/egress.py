"""Where a sync may connect: in production only to public addresses, so a connection's URL cannot turn Florin
into a client of its own network (Postgres, Redis, cloud metadata at 169.254.169.254, admin ports).

Checked twice: the URL as written when a connection is created (an IP literal or a local name), and the
addresses its host resolves to right before each sync. What is left: DNS could answer differently between
that check and the connection the HTTP client opens (rebinding within seconds); pinning the checked address
in the client's transport would close that too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")


class PrivateAddress(Exception):
    """The URL's host is, or resolves to, an address that is not public."""


def is_public(address: str) -> bool:
    """A globally routable unicast address (IPv4-mapped IPv6 judged as the IPv4 it maps)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def names_a_private_host(url: str) -> bool:
    """The URL names its host as a non-public IP literal or a local name (no DNS is asked)."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(LOCAL_SUFFIXES) or "." not in host and ":" not in host:
        return True
    try:
        return not is_public(host)
    except ValueError:
        return False  # a DNS name: judged by what it resolves to, before each sync


async def check_public(url: str) -> None:
    """Raise PrivateAddress when the URL's host is local or resolves to any non-public address. A name that
    does not resolve passes (the connection attempt then fails as unavailable, and is retried)."""
    if names_a_private_host(url):
        raise PrivateAddress(f"{urlsplit(url).hostname} is not a public address")
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return
    for *_, sockaddr in found:
        if not is_public(str(sockaddr[0])):
            raise PrivateAddress(f"{parts.hostname} resolves to {sockaddr[0]}, which is not a public address")
