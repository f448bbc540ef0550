"""The OpenAPI validator refuses what Stripe refuses, so a passing gateway test means something."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.support.stripe_openapi import MalformedForm, parse_form, stripe_openapi

SESSION = {
    "mode": "payment",
    "success_url": "https://shop.example/ok",
    "line_items[0][price_data][currency]": "eur",
    "line_items[0][price_data][unit_amount]": "2500",
    "line_items[0][price_data][product_data][name]": "Yoga",
    "line_items[0][quantity]": "2",
    "metadata[booking_id]": "bk_1",
    "payment_intent_data[application_fee_amount]": "250",
    "payment_intent_data[transfer_data][destination]": "acct_1",
    "expires_at": "1772443800",
}


def errors(method: str, path: str, params: dict[str, str]) -> list[str]:
    return stripe_openapi().validate(method, path, urlencode(params))


def session_errors(**changes: str | None) -> list[str]:
    params = {**SESSION, **changes}
    return errors(
        "POST", "/v1/checkout/sessions", {k: v for k, v in params.items() if v is not None}
    )


def test_a_valid_checkout_session_passes() -> None:
    assert session_errors() == []


def test_an_unknown_parameter_fails() -> None:
    assert session_errors(colour="blue") == ["colour: unknown parameter"]


def test_an_unknown_nested_parameter_fails() -> None:
    assert session_errors(**{"line_items[0][price_data][colour]": "blue"}) == [
        "line_items[0][price_data][colour]: unknown parameter"
    ]
    assert session_errors(**{"payment_intent_data[transfer_data][reverse]": "true"}) == [
        "payment_intent_data[transfer_data][reverse]: unknown parameter"
    ]


def test_a_value_outside_the_enum_fails() -> None:
    [error] = session_errors(mode="rent")
    assert error.startswith("mode: 'rent' is not one of")


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("line_items[0][price_data][unit_amount]", "25.00"),
        ("line_items[0][quantity]", "two"),
        ("expires_at", "tomorrow"),
    ],
)
def test_a_value_of_the_wrong_type_fails(param: str, value: str) -> None:
    assert session_errors(**{param: value}) == [f"{param}: expected an integer, got {value!r}"]


def test_a_boolean_must_be_true_or_false() -> None:
    assert errors("POST", "/v1/refunds", {"payment_intent": "pi_1", "reverse_transfer": "yes"}) == [
        "reverse_transfer: expected a boolean, got 'yes'"
    ]


def test_nesting_where_a_scalar_belongs_fails_and_vice_versa() -> None:
    [nested] = session_errors(**{"customer_email[address]": "a@b.c"})
    assert nested.startswith("customer_email: expected a string")
    [flat] = session_errors(automatic_tax="x")
    assert flat.startswith("automatic_tax: expected an object")


def test_a_missing_required_field_fails() -> None:
    assert session_errors(success_url=None) == ["success_url: required parameter missing"]
    assert session_errors(**{"line_items[0][price_data][currency]": None}) == [
        "line_items[0][price_data][currency]: required parameter missing"
    ]
    assert errors("POST", "/v1/account_links", {"account": "acct_1"}) == [
        "type: required parameter missing"
    ]


def test_any_of_alternatives_are_tried() -> None:
    assert errors("POST", "/v1/refunds", {"payment_intent": "pi_1", "metadata": ""}) == []
    assert errors("POST", "/v1/refunds", {"payment_intent": "pi_1", "metadata[a]": "b"}) == []
    [error] = errors("POST", "/v1/refunds", {"payment_intent": "pi_1", "metadata": "x"})
    assert error.startswith("metadata: matches no anyOf alternative")


def test_an_array_must_be_indexed() -> None:
    [error] = session_errors(**{"line_items[price]": "price_1"})
    assert error.startswith("line_items: expected an array")


def test_a_string_longer_than_allowed_fails() -> None:
    assert session_errors(client_reference_id="x" * 201) == [
        "client_reference_id: longer than 200 characters"
    ]


def test_unknown_paths_methods_and_query_parameters_fail() -> None:
    assert errors("POST", "/v1/bookings", {}) == ["/v1/bookings is not a path of the Stripe API"]
    assert errors("DELETE", "/v1/checkout/sessions/cs_1", {}) == [
        "DELETE /v1/checkout/sessions/{session} is not an operation"
    ]
    assert errors("GET", "/v1/checkout/sessions/cs_1", {"expand[0]": "payment_intent"}) == []
    assert errors("GET", "/v1/accounts/acct_1", {"limit": "3"}) == [
        "limit: unknown query parameter"
    ]


def test_form_keys_are_parsed_into_nested_parameters() -> None:
    assert parse_form("a[b][0][c]=1&a[b][1][c]=2&d=&e[]=x&e[]=y") == {
        "a": {"b": {"0": {"c": "1"}, "1": {"c": "2"}}},
        "d": "",
        "e": {"0": "x", "1": "y"},
    }
    with pytest.raises(MalformedForm):
        parse_form("a=1&a[b]=2")
    with pytest.raises(MalformedForm):
        parse_form("a[b]=2&a=1")
    with pytest.raises(MalformedForm):
        parse_form("a=1&a=2")
