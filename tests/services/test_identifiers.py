"""NHS number, UPN and postcode checks: known answers and properties (hypothesis)."""

from __future__ import annotations

import string

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from services.identifiers import (
    UPN_ALPHABET,
    check_nhs_number,
    check_postcode,
    check_upn,
    nhs_check_digit,
    upn_check_letter,
)

nine_digits = st.text(alphabet=string.digits, min_size=9, max_size=9)
twelve_chars = st.builds(
    lambda digits, last: digits + last,
    st.text(alphabet=string.digits, min_size=11, max_size=11),
    st.sampled_from(string.digits + UPN_ALPHABET),
)


def valid_nhs(first_nine: str) -> str | None:
    check = nhs_check_digit(first_nine)
    return None if check is None else first_nine + str(check)


class TestNhsNumber:
    @pytest.mark.parametrize("value", ["9434765919", "943 476 5919", "943-476-5919"])
    def test_known_valid_numbers_normalise_to_ten_digits(self, value: str) -> None:
        assert check_nhs_number(value) == "9434765919"

    @pytest.mark.parametrize("value", ["9434765918", "943476591", "94347659190", "943476591X", ""])
    def test_wrong_check_digit_or_shape_is_refused(self, value: str) -> None:
        with pytest.raises(ValueError, match="NHS number"):
            check_nhs_number(value)

    def test_a_check_digit_of_ten_is_never_issued(self) -> None:
        # 000000010: 1*2 = 2 -> 11 - 2 = 9; search for a body whose check digit would be 10.
        body = next(f"{n:09d}" for n in range(1000) if nhs_check_digit(f"{n:09d}") is None)
        for last in string.digits:
            with pytest.raises(ValueError, match="check digit"):
                check_nhs_number(body + last)

    @given(nine_digits)
    def test_every_computed_number_is_accepted(self, first_nine: str) -> None:
        number = valid_nhs(first_nine)
        assume(number is not None)
        assert number is not None
        assert check_nhs_number(number) == number

    @given(nine_digits, st.integers(0, 9), st.integers(1, 9))
    def test_any_single_digit_error_is_caught(self, first_nine: str, pos: int, delta: int) -> None:
        number = valid_nhs(first_nine)
        assume(number is not None)
        assert number is not None
        wrong = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1 :]
        with pytest.raises(ValueError, match="check digit"):
            check_nhs_number(wrong)

    @given(nine_digits, st.integers(0, 8))
    def test_any_adjacent_transposition_is_caught(self, first_nine: str, pos: int) -> None:
        number = valid_nhs(first_nine)
        assume(number is not None)
        assert number is not None
        assume(number[pos] != number[pos + 1])
        swapped = number[:pos] + number[pos + 1] + number[pos] + number[pos + 2 :]
        with pytest.raises(ValueError, match="check digit"):
            check_nhs_number(swapped)

    @given(st.text(max_size=30))
    def test_arbitrary_text_is_refused_or_normalised_never_crashes(self, raw: str) -> None:
        try:
            value = check_nhs_number(raw)
        except ValueError as exc:
            message = str(exc)
        else:
            assert len(value) == 10
            assert value.isdigit()
            return
        # A fixed reason: the value itself is never quoted back.
        assert message in {"an NHS number is 10 digits", "the NHS number's check digit is wrong"}


class TestUpn:
    def test_a_known_upn_is_accepted_and_upper_cased(self) -> None:
        assert check_upn("h801200001001") == "H801200001001"

    @pytest.mark.parametrize(
        "value",
        ["A801200001001", "H80120000100", "H8012000010011", "I801200001001", "H80120000100S"],
    )
    def test_wrong_check_letter_or_shape_is_refused(self, value: str) -> None:
        with pytest.raises(ValueError, match="UPN"):
            check_upn(value)

    @given(twelve_chars)
    def test_every_computed_upn_is_accepted(self, body: str) -> None:
        upn = upn_check_letter(body) + body
        assert check_upn(upn) == upn

    @given(twelve_chars, st.integers(1, 11), st.integers(1, 9))
    def test_any_single_digit_error_is_caught(self, body: str, pos: int, delta: int) -> None:
        upn = upn_check_letter(body) + body
        wrong = upn[:pos] + str((int(upn[pos]) + delta) % 10) + upn[pos + 1 :]
        with pytest.raises(ValueError, match="check letter"):
            check_upn(wrong)

    @given(twelve_chars, st.sampled_from(UPN_ALPHABET))
    def test_a_wrong_check_letter_is_caught(self, body: str, letter: str) -> None:
        assume(letter != upn_check_letter(body))
        with pytest.raises(ValueError, match="check letter"):
            check_upn(letter + body)


outward = st.one_of(
    st.builds(lambda a, d: a + d, st.sampled_from("BMW"), st.sampled_from(["1", "12", "9"])),
    st.builds(
        lambda a, b, d: a + b + d,
        st.sampled_from("BSLE"),
        st.sampled_from("DNCH"),
        st.sampled_from(["1", "21", "9"]),
    ),
    st.just("SW1A"),
    st.just("EC1A"),
    st.just("W1A"),
)
inward = st.builds(
    lambda d, a, b: d + a + b,
    st.sampled_from(string.digits),
    st.sampled_from("ABDEFGHJLNPQRSTUWXYZ"),
    st.sampled_from("ABDEFGHJLNPQRSTUWXYZ"),
)


class TestPostcode:
    @pytest.mark.parametrize(
        ("raw", "normal"),
        [
            ("BD1 1HY", "BD1 1HY"),
            ("bd11hy", "BD1 1HY"),
            ("SW1A 1AA", "SW1A 1AA"),
            (" ec1a  1bb ", "EC1A 1BB"),
            ("M1 1AE", "M1 1AE"),
            ("DN55 1PT", "DN55 1PT"),
            ("GIR 0AA", "GIR 0AA"),
        ],
    )
    def test_real_postcodes_are_accepted_and_normalised(self, raw: str, normal: str) -> None:
        assert check_postcode(raw) == normal

    @pytest.mark.parametrize("raw", ["", "BD1", "12345", "QD1 1HY", "BD1 1CY", "BD1 1HYY", "ZZZ"])
    def test_malformed_postcodes_are_refused(self, raw: str) -> None:
        with pytest.raises(ValueError, match="postcode"):
            check_postcode(raw)

    @given(outward, inward, st.sampled_from(["", " ", "  "]), st.booleans())
    def test_well_formed_postcodes_normalise_to_one_space_and_are_stable(
        self, out: str, inw: str, gap: str, lower: bool
    ) -> None:
        raw = out + gap + inw
        normal = check_postcode(raw.lower() if lower else raw)
        assert normal == f"{out} {inw}"
        assert check_postcode(normal) == normal

    @given(st.text(max_size=20))
    def test_arbitrary_text_never_crashes(self, raw: str) -> None:
        try:
            normal = check_postcode(raw)
        except ValueError:
            return
        assert check_postcode(normal) == normal
