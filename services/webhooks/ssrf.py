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
import re
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Metadata services that are not inside the link-local range on every cloud.
_METADATA = (ipaddress.ip_network("fd00:ec2::254/128"), ipaddress.ip_network("100.100.100.200/32"))
_SHARED = ipaddress.ip_network("100.64.0.0/10")
# IPv6 forms that carry an IPv4 address in their last 32 bits, which a gateway on the path may
# translate and connect to: NAT64 (RFC 6052, well-known and local-use prefixes), IPv4-mapped,
# IPv4-translated (SIIT) and the deprecated IPv4-compatible form.
_EMBEDS_IPV4_LOW32 = (
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("::ffff:0:0/96"),
    ipaddress.ip_network("::ffff:0:0:0/96"),
    ipaddress.ip_network("::/96"),
)
# A URL is plain: printable ASCII without spaces, quotes, angle brackets or backslashes (a
# header or request line built from it cannot be split, and no parser reads it differently).
_URL_FORBIDDEN = re.compile(r"[^\x21-\x7e]|[\\\"<>^`{|}]")
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$)({_LABEL}\.)*{_LABEL}\.?$")
_RESOLVE_TIMEOUT_SECONDS = 5.0


class UnsafeUrl(Exception):
    """The URL may not be delivered to; the message names the rule, never the address."""


def address_refusal(address: IpAddress, allowed: Iterable[IpNetwork]) -> str | None:
    """Why this address is refused, or None when it may be used."""
    if any(address in net for net in allowed if net.version == address.version):
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_refusal(address.ipv4_mapped, allowed)
    reason = _own_refusal(address)
    if reason is None and isinstance(address, ipaddress.IPv6Address):
        # 6to4, Teredo, NAT64: a relay or gateway would connect to the IPv4 address inside.
        for embedded in embedded_ipv4(address):
            reason = address_refusal(embedded, allowed)
            if reason is not None:
                break
    return reason


def _own_refusal(address: IpAddress) -> str | None:
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


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 transition form (6to4, Teredo, NAT64, mapped) carries."""
    found: list[ipaddress.IPv4Address] = []
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)  # (server, client); the client is already de-obfuscated
    if any(address in net for net in _EMBEDS_IPV4_LOW32):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def check_url_shape(url: str, *, require_https: bool) -> tuple[str, int]:
    """The host and port of a plain absolute http(s) URL; raises UnsafeUrl otherwise."""
    if _URL_FORBIDDEN.search(url):
        raise UnsafeUrl("must be plain ASCII without spaces, line breaks or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. a bracketed host that is not an IPv6 address
        raise UnsafeUrl("has no valid host") from exc
    if parts.scheme not in ("https", "http") or (require_https and parts.scheme != "https"):
        raise UnsafeUrl("must use https" if require_https else "must use http or https")
    if not url.lower().startswith(f"{parts.scheme}://"):
        raise UnsafeUrl("must be an absolute URL")
    if "@" in parts.netloc:
        raise UnsafeUrl("must not carry credentials")
    if parts.fragment or url.endswith("#"):
        raise UnsafeUrl("must not carry a fragment")
    host = parts.hostname
    if not host or not _valid_host(host, bracketed=parts.netloc.startswith("[")):
        raise UnsafeUrl("has no valid host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl("has an invalid port") from exc
    if parts.port == 0:
        raise UnsafeUrl("has an invalid port")
    return host, port


def _valid_host(host: str, *, bracketed: bool) -> bool:
    if bracketed:
        try:
            return ipaddress.ip_address(host).version == 6
        except ValueError:
            return False
    return _HOSTNAME.match(host) is not None


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
