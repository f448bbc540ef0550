@reconciliation
Feature: Money that converges to what Stripe did
  As a platform operator
  I want Bookpay's ledger to end up as Stripe's own records of each payment, even when
  Stripe's messages never arrive
  So that every statement can be checked against Stripe to the cent

  How to read and extend the tables:
  - Every example sells 2 seats at 20.00 USD with a service fee of 5% + 0.30 USD borne by
    the customer: the customer pays 42.30 USD, the platform's fee is 2.30 USD.
  - "in Stripe's dashboard" is someone acting in Stripe directly, not through Bookpay.
    While Stripe's messages are lost, Bookpay hears nothing of it until it reconciles.
  - "the ledger" lists what it holds beyond the payment itself (the 42.30 USD charge and
    the 2.30 USD fee), kind by kind; Stripe gives its fee back in proportion when asked,
    rounded to the cent (2.30 × 21.15 / 42.30 = 1.15). A dispute of a destination charge
    is taken from the platform's balance first (42.30 USD and Stripe's 15.00 USD fee): the
    tenant's net shows it bears none of it while the dispute is open.

  Scenario Outline: What Stripe did while its messages were lost is recorded once
    Given a customer who paid 42.30 USD for a booking
    And Stripe's messages about the payment are lost
    When <what happened> in Stripe's dashboard
    And Bookpay reconciles, twice
    Then the booking's payment is <payment>
    And the ledger holds <entries>
    And the tenant's statement shows a net of <net>
    And nothing was left for a human

    Examples:
      | what happened                                    | payment            | entries                                                     | net       |
      | 21.15 USD is refunded, the platform's fee kept   | partially refunded | a refund of 21.15 USD                                       | 18.85 USD |
      | 21.15 USD is refunded with the platform's fee    | partially refunded | a refund of 21.15 USD, a fee refund of 1.15 USD             | 20.00 USD |
      | everything is refunded with the platform's fee   | refunded           | a refund of 42.30 USD, a fee refund of 2.30 USD             | 0.00 USD  |
      | the customer's bank disputes the payment         | disputed           | a dispute of 42.30 USD, a dispute fee of 15.00 USD          | 40.00 USD |
