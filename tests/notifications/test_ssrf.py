"""SSRF rules for endpoint URLs."""

from __future__ import annotations

import ipaddress

import pytest

from notifications.ssrf import UnsafeUrl, address_refusal, check_url, check_url_shape

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
