"""Endpoint URL checks against server-side request forgery.

At registration and before every attempt the host is resolved and every address it resolves
to is checked: private, loopback, link-local (cloud metadata lives there), shared (CGNAT),
multicast, reserved and unspecified addresses are refused unless an allow-list names them.
https is required in production. The check is repeated on every attempt because DNS answers
change (rebinding); the attempt then connects to the address that was checked (the Host
header and TLS server name stay the URL's host, so certificates are verified as usual), so a
second lookup cannot swap in another address. Redirects are never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Metadata services that are not inside the link-local range on every cloud.
_METADATA = (ipaddress.ip_network("fd00:ec2::254/128"), ipaddress.ip_network("100.100.100.200/32"))
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_RESOLVE_TIMEOUT_SECONDS = 5.0


class UnsafeUrl(Exception):
    """The URL may not be delivered to; the message names the rule, never the address."""


def address_refusal(address: IpAddress, allowed: Iterable[IpNetwork]) -> str | None:
    """Why this address is refused, or None when it may be used."""
    if any(address in net for net in allowed if net.version == address.version):
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_refusal(address.ipv4_mapped, allowed)
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (any(address in net for net in _METADATA if net.version == address.version), "metadata"),
        (address.version == 4 and address in _SHARED, "shared address space"),
        (address.is_private, "private"),
        (address.is_multicast, "multicast"),
        (address.is_reserved, "reserved"),
    )
    for refused, reason in checks:
        if refused:
            return f"resolves to a {reason} address"
    return None


def check_url_shape(url: str, *, require_https: bool) -> tuple[str, int]:
    """The host and port of an acceptable URL; raises UnsafeUrl otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or (require_https and parts.scheme != "https"):
        raise UnsafeUrl("must use https" if require_https else "must use http or https")
    if not parts.hostname:
        raise UnsafeUrl("has no host")
    if parts.username or parts.password:
        raise UnsafeUrl("must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl("has an invalid port") from exc
    return parts.hostname, port


async def resolve(host: str, port: int) -> list[IpAddress]:
    try:
        return [ipaddress.ip_address(host)]  # an address literal needs no lookup
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), _RESOLVE_TIMEOUT_SECONDS
        )
    except (OSError, TimeoutError) as exc:
        raise UnsafeUrl("host does not resolve") from exc
    return [ipaddress.ip_address(info[4][0]) for info in infos]


async def check_url(
    url: str, *, require_https: bool, allowed: Iterable[IpNetwork]
) -> list[IpAddress]:
    """The checked addresses; raises UnsafeUrl unless every one may be delivered to."""
    host, port = check_url_shape(url, require_https=require_https)
    addresses = await resolve(host, port)
    if not addresses:
        raise UnsafeUrl("host does not resolve")
    allowed = tuple(allowed)
    for address in addresses:
        reason = address_refusal(address, allowed)
        if reason is not None:
            raise UnsafeUrl(reason)
    return addresses
