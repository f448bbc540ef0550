@webhooks
Feature: Stripe webhooks through the HTTP API
  As a tenant
  I want every payment Stripe reports to be applied exactly once
  So that a booking is never confirmed twice, charged twice, or lost

  Background:
    Given a tenant "harbour-tours" that can take charges, with fee policy "5% + 0.30 USD" borne by the customer
    And an offering priced at 20.00 USD with a slot of 4 seats
    And a customer has checked out 2 seats

  Scenario Outline: Paying on the hosted page confirms the booking once, however often Stripe delivers
    When the customer pays on the hosted checkout page
    And Stripe delivers the completion event <extra> more times
    Then the booking is "confirmed"
    And the booking's ledger has a charge of 42.30 USD and an application fee of 2.30 USD, once each
    And the slot has 2 seats available

    Examples:
      | extra |
      | 0     |
      | 1     |
      | 5     |

  Scenario: Stripe redelivers a payment already recorded: Stripe is not asked again
    After an outage Stripe redelivers days of events at once. A report already applied is
    answered from the record of reports, without asking Stripe about it a second time.

    When the customer pays on the hosted checkout page
    And Stripe delivers the completion event 3 more times
    Then Bookpay asked Stripe about the checkout once
    And the booking is "confirmed"
    And the booking's ledger has a charge of 42.30 USD and an application fee of 2.30 USD, once each
    And the slot has 2 seats available

  Scenario: Reports answered as soon as they are kept, applied a moment later, each once
    Stripe asks for a quick answer, and limits how often it may be asked. Bookpay can answer
    as soon as it has kept a signed report, and apply what it kept a moment later, at a
    pace Stripe allows.

    Given Bookpay answers Stripe's reports once kept, and applies them afterwards
    When the customer pays on the hosted checkout page
    And Stripe delivers the completion event 3 more times
    Then the booking is "pending payment"
    When the reports kept are applied
    Then the booking is "confirmed"
    And Bookpay asked Stripe about the checkout once
    And the booking's ledger has a charge of 42.30 USD and an application fee of 2.30 USD, once each
    And the slot has 2 seats available

  Scenario: A delayed payment that fails gives the seats back
    When the customer chooses a delayed payment method on the hosted checkout page
    Then the booking is "awaiting async payment"
    And the slot has 2 seats available
    When the delayed payment fails
    Then the booking is "payment failed"
    And the slot has 4 seats available

  Scenario: A delayed payment that succeeds confirms the booking
    When the customer chooses a delayed payment method on the hosted checkout page
    And the delayed payment succeeds
    Then the booking is "confirmed"
    And the slot has 2 seats available

  Scenario Outline: An event that Stripe did not sign is refused
    Each endpoint takes only events signed with its own secret, and only recently signed.

    When Stripe sends an event to the endpoint for <endpoint>, signed with <signature>
    Then the event is <outcome>

    Examples:
      | endpoint                   | signature                   | outcome                       |
      | the platform's events      | the platform secret         | accepted                      |
      | the platform's events      | the connect secret          | refused: not signed by Stripe |
      | the platform's events      | a wrong secret              | refused: not signed by Stripe |
      | connected accounts' events | the connect secret          | accepted                      |
      | connected accounts' events | the platform secret         | refused: not signed by Stripe |
      | the platform's events      | a signature ten minutes old | refused: not signed by Stripe |
      | the platform's events      | no signature                | refused: not signed by Stripe |

  Scenario Outline: A signed payment report that contradicts the booking is checked with Stripe first
    Given the customer <payment>
    When a correctly signed report says <claim>
    Then the booking is "<status>"
    And the booking's ledger holds <ledger>

    Examples:
      | payment                                 | claim                                        | status          | ledger                                       |
      | has not paid                            | 0.01 USD was paid                            | pending payment | nothing                                      |
      | has not paid                            | 4230 JPY was paid                            | pending payment | nothing                                      |
      | has not paid                            | the payment was made to another account      | pending payment | nothing                                      |
      | has paid, but Stripe's report is late   | 0.01 USD was paid                            | confirmed       | a charge of 42.30 USD and a fee of 2.30 USD  |
      | has paid, but Stripe's report is late   | 4230 JPY was paid                            | confirmed       | a charge of 42.30 USD and a fee of 2.30 USD  |
      | has paid, but Stripe's report is late   | the payment was made to another account      | confirmed       | a charge of 42.30 USD and a fee of 2.30 USD  |
      | has paid, but Stripe's report is late   | 42.30 USD was paid                           | confirmed       | a charge of 42.30 USD and a fee of 2.30 USD  |

  Scenario Outline: An account report delivered late never overrides a newer one
    When Stripe reports the tenant's account <newer>
    And Stripe's report from 2 minutes earlier arrives, saying the account <older>
    Then the tenant <outcome>

    Examples:
      | newer                   | older                   | outcome         |
      | can take charges        | cannot take charges     | can sell        |
      | cannot take charges     | can take charges        | cannot sell     |
      | cannot take charges     | cannot take charges     | cannot sell     |

  Scenario Outline: A report from the other mode changes nothing
    When Stripe's <mode> mode reports the tenant's account cannot take charges
    Then the tenant <outcome>

    Examples:
      | mode | outcome     |
      | live | can sell    |
      | test | cannot sell |
