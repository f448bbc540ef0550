from pytest_bdd import scenarios

scenarios("checkout.feature")
