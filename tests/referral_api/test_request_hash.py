"""The request hash behind Idempotency-Key: equal JSON bodies hash alike, different ones never."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from referral_api.idempotency import canonical_json, request_hash

# What json.loads can hand us: any JSON value, including what orjson cannot write as is.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


def standard(value: object) -> str:
    return json.dumps(value, sort_keys=True, allow_nan=True)


class TestCanonicalJson:
    def test_key_order_and_spacing_do_not_change_the_hash(self) -> None:
        body = json.loads('{"b": [1, {"y": 2, "x": "é"}], "a": null}')
        spaced = json.loads('{ "a" : null ,\n "b" : [ 1 , { "x" : "é" , "y" : 2 } ] }')
        assert request_hash(body) == request_hash(spaced)

    def test_nan_and_infinities_are_not_taken_for_null(self) -> None:
        # orjson would write each of these as null.
        hashes = {request_hash({"a": value}) for value in (None, math.nan, math.inf, -math.inf)}
        assert len(hashes) == 4

    def test_integers_beyond_64_bits_and_lone_surrogates_are_hashed_exactly(self) -> None:
        big = 2**64
        assert request_hash({"a": big}) != request_hash({"a": big + 1})
        assert request_hash({"a": "\ud800"}) != request_hash({"a": "\ud801"})
        assert canonical_json({"a": big}).startswith(b"\x00")

    def test_a_usual_body_takes_the_fast_form(self) -> None:
        assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()

    @given(json_values, json_values)
    def test_the_hash_is_equal_exactly_when_the_values_are(self, a: object, b: object) -> None:
        # NaN is not equal to itself, so equality is judged on the standard library's text.
        assert (request_hash(a) == request_hash(b)) == (standard(a) == standard(b))

    @given(json_values)
    def test_a_value_sent_again_hashes_alike(self, value: object) -> None:
        again = json.loads(json.dumps(value, indent=1, sort_keys=False))
        assert request_hash(again) == request_hash(value)

    @given(json_values)
    def test_a_changed_value_hashes_differently(self, value: object) -> None:
        assert request_hash([value]) != request_hash([value, None])
        assert request_hash({"k": value}) != request_hash({"k": [value]})
