"""Every refusal the domain can make, each named for what went wrong."""


class DomainError(Exception):
    """Base of every rule the domain refuses to break."""


class UnknownCurrency(DomainError):
    def __init__(self, code: str) -> None:
        super().__init__(
            f"unknown currency {code!r}: use a lowercase ISO-4217 code Stripe supports"
        )
        self.code = code


class CurrencyMismatch(DomainError):
    def __init__(self, left: str, right: str) -> None:
        super().__init__(f"cannot combine amounts in {left} and {right}")
        self.left = left
        self.right = right


class InvalidAmount(DomainError):
    """An amount that is not a whole number of minor units, or not one Stripe accepts."""


class BelowMinimumCharge(DomainError):
    def __init__(self, amount: int, minimum: int, currency: str) -> None:
        super().__init__(
            f"a charge of {amount} {currency} (minor units) is below the minimum of "
            f"{minimum} {currency} that Stripe accepts"
        )
        self.amount = amount
        self.minimum = minimum
        self.currency = currency


class InvalidFeePolicy(DomainError):
    """A fee policy whose components contradict each other or Stripe's rules."""


class TenantCannotSell(DomainError):
    def __init__(self, tenant_id: str) -> None:
        super().__init__(
            f"tenant {tenant_id} cannot take charges yet: its Stripe account is not "
            "connected or charges are not enabled"
        )
        self.tenant_id = tenant_id
