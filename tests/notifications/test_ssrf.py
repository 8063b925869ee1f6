"""SSRF rules for endpoint URLs."""

from __future__ import annotations

import ipaddress

import pytest

from services.webhooks.ssrf import (
    UnsafeUrl,
    address_refusal,
    check_url,
    check_url_shape,
    embedded_ipv4,
)

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


class TestAddressRefusal:
    @pytest.mark.parametrize(
        ("address", "reason"),
        [
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private"),
            ("192.168.0.10", "private"),
            ("172.16.5.4", "private"),
            ("169.254.169.254", "link-local"),
            ("100.64.0.1", "shared"),
            ("::1", "loopback"),
            ("fe80::1", "link-local"),
            ("fd00:ec2::254", "metadata"),
            ("::ffff:10.0.0.1", "private"),
            ("0.0.0.0", "unspecified"),
        ],
    )
    def test_refuses_internal_addresses(self, address: str, reason: str) -> None:
        refusal = address_refusal(ipaddress.ip_address(address), ())
        assert refusal is not None
        assert reason in refusal

    def test_public_address_is_allowed(self) -> None:
        assert address_refusal(ipaddress.ip_address("93.184.216.34"), ()) is None

    def test_allow_list_permits_loopback_for_development(self) -> None:
        assert address_refusal(ipaddress.ip_address("127.0.0.1"), LOOPBACK) is None


class TestUrlShape:
    def test_production_requires_https(self) -> None:
        with pytest.raises(UnsafeUrl, match="https"):
            check_url_shape("http://school.example/hook", require_https=True)
        assert check_url_shape("https://school.example/hook", require_https=True) == (
            "school.example",
            443,
        )

    def test_credentials_and_other_schemes_are_refused(self) -> None:
        with pytest.raises(UnsafeUrl):
            check_url_shape("https://user:pw@school.example/", require_https=True)
        with pytest.raises(UnsafeUrl):
            check_url_shape("ftp://school.example/", require_https=False)


class TestCheckUrl:
    async def test_loopback_is_refused_without_the_allow_list(self) -> None:
        with pytest.raises(UnsafeUrl, match="loopback"):
            await check_url("http://127.0.0.1:9/hook", require_https=False, allowed=())

    async def test_a_name_resolving_to_loopback_is_refused(self) -> None:
        with pytest.raises(UnsafeUrl, match="loopback"):
            await check_url("http://localhost:9/hook", require_https=False, allowed=())

    async def test_loopback_passes_with_the_allow_list(self) -> None:
        await check_url("http://127.0.0.1:9/hook", require_https=False, allowed=LOOPBACK)


class TestTransitionForms:
    """IPv6 forms that carry an IPv4 address a relay or gateway would connect to."""

    @pytest.mark.parametrize(
        ("address", "reason"),
        [
            ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
            ("2002:a9fe:a9fe::1", "link-local"),  # 6to4 of 169.254.169.254
            ("2002:0a00:0001::", "private"),  # 6to4 of 10.0.0.1
            ("2002:c0a8:0001::", "private"),  # 6to4 of 192.168.0.1
            ("64:ff9b::7f00:1", "reserved"),  # NAT64 of 127.0.0.1
            ("64:ff9b::a9fe:a9fe", "reserved"),  # NAT64 of 169.254.169.254
            ("64:ff9b:1::a00:1", "reserved"),  # local-use NAT64 of 10.0.0.1
            ("2001:0:4136:e378:8000:63bf:80ff:fffe", "private"),  # Teredo, client 127.0.0.1
            ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
            ("::ffff:169.254.169.254", "link-local"),
            ("::127.0.0.1", "reserved"),  # IPv4-compatible (deprecated)
            ("::ffff:0:7f00:1", "reserved"),  # IPv4-translated (SIIT)
        ],
    )
    def test_an_embedded_internal_ipv4_is_refused(self, address: str, reason: str) -> None:
        refusal = address_refusal(ipaddress.ip_address(address), ())
        assert refusal is not None
        assert reason in refusal

    @pytest.mark.parametrize(
        ("address", "embedded"),
        [
            ("2002:7f00:1::", "127.0.0.1"),
            ("2002:a9fe:a9fe::", "169.254.169.254"),
            ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
            ("::ffff:10.0.0.1", "10.0.0.1"),
        ],
    )
    def test_the_embedded_address_is_read(self, address: str, embedded: str) -> None:
        found = embedded_ipv4(ipaddress.IPv6Address(address))
        assert ipaddress.IPv4Address(embedded) in found

    def test_6to4_of_a_public_address_is_allowed(self) -> None:
        assert address_refusal(ipaddress.ip_address("2002:5db8:d822::1"), ()) is None

    async def test_a_6to4_literal_url_is_refused(self) -> None:
        with pytest.raises(UnsafeUrl, match="loopback"):
            await check_url("https://[2002:7f00:1::]/hook", require_https=True, allowed=())


class TestPlainUrls:
    @pytest.mark.parametrize(
        "url",
        [
            "https://school.example/hook\r\nHost: evil",
            "https://school.example/a b",
            "https://school.example/\ttab",
            "https://u:p@school.example/",
            "https://@school.example/",
            "https:school.example",
            "https://school.example/#x",
            "https://[not-an-address]/",
            "https://school.example:0/",
            'https://school.example/"quoted"',
        ],
    )
    def test_anything_but_a_plain_absolute_url_is_refused(self, url: str) -> None:
        with pytest.raises(UnsafeUrl):
            check_url_shape(url, require_https=False)

    def test_http_only_outside_production(self) -> None:
        assert check_url_shape("http://school.example/h", require_https=False)[1] == 80
        with pytest.raises(UnsafeUrl, match="https"):
            check_url_shape("http://school.example/h", require_https=True)
        assert check_url_shape("https://school.example:8443/h?a=1", require_https=True) == (
            "school.example",
            8443,
        )
