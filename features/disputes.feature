@disputes
Feature: Disputes (chargebacks) of a booking's payment
  As a platform operator
  I want a disputed payment to give no money back while the dispute stands, and its
  outcome booked as Stripe reports it
  So that no customer is paid twice (a refund and a chargeback) and every statement says
  who bore a lost dispute

  As a tenant
  I want my statement to show what disputes cost me
  So that my net matches what reached my bank account

  How to read and extend the tables:
  - Every example sells 2 seats at 20.00 USD with a service fee of 5% + 0.30 USD borne by
    the customer: the customer pays 42.30 USD, the platform's fee is 2.30 USD and the
    tenant receives 40.00 USD.
  - Charge models: "destination" (the platform charges and transfers the tenant's share;
    Stripe takes a dispute from the platform's balance) or "direct" (the charge is on the
    tenant's own Stripe account, which bears its disputes).
  - Who bears a lost dispute of a destination charge is the platform's setting: "tenant"
    (the platform takes it back from the tenant's transfer, never more than the tenant
    received) or "platform".
  - Stripe's dispute events are delivered signed, as Stripe sends them; Stripe's dispute
    fee is 15.00 USD.
  - Statement: net = gross − refunds − fees + fee refunds − disputes, where disputes is
    what the tenant bore.

  Scenario Outline: While a dispute is open, nothing is refunded or cancelled
    Given the platform's setting for lost disputes of destination charges is "tenant"
    And a tenant selling with <charge model> charges, and a customer who paid 42.30 USD
    When the customer's bank disputes the whole payment as "fraudulent"
    And <who> tries to <action>
    Then it is refused: the dispute is open
    And the booking stays confirmed, its payment disputed, with nothing refunded
    And the booking shows the dispute of 42.30 USD for "fraudulent", needing a response

    Examples:
      | charge model | who          | action                     |
      | destination  | the customer | cancel                     |
      | destination  | the tenant   | cancel                     |
      | destination  | the tenant   | refund 10.00 USD           |
      | direct       | the customer | cancel                     |
      | direct       | the tenant   | refund all that is left    |

  Scenario Outline: A dispute is won or lost, and the money is booked as Stripe reports it
    Given the platform's setting for lost disputes of destination charges is "<bearer>"
    And a tenant selling with <charge model> charges, and a customer who paid 42.30 USD
    When the customer's bank disputes the whole payment as "fraudulent"
    And Stripe withdraws the disputed 42.30 USD and its dispute fee
    And the dispute is <outcome>
    Then the booking stays confirmed, its payment <payment>
    And the ledger shows 42.30 USD withdrawn and 15.00 USD of dispute fee from the <debited>'s balance, <reinstated> reinstated
    And the ledger shows <recovered> taken back from the tenant
    And the tenant's statement shows <disputes> of disputes and a net of <net>

    Examples:
      | charge model | bearer   | outcome | payment  | debited  | reinstated | recovered | disputes  | net       |
      | direct       | tenant   | won     | paid     | tenant   | 42.30 USD  | 0.00 USD  | 15.00 USD | 25.00 USD |
      | direct       | tenant   | lost    | disputed | tenant   | 0.00 USD   | 0.00 USD  | 57.30 USD | -17.30 USD |
      | direct       | platform | lost    | disputed | tenant   | 0.00 USD   | 0.00 USD  | 57.30 USD | -17.30 USD |
      | destination  | tenant   | won     | paid     | platform | 42.30 USD  | 0.00 USD  | 0.00 USD  | 40.00 USD |
      | destination  | tenant   | lost    | disputed | platform | 0.00 USD   | 40.00 USD | 40.00 USD | 0.00 USD  |
      | destination  | platform | lost    | disputed | platform | 0.00 USD   | 0.00 USD  | 0.00 USD  | 40.00 USD |

  Scenario Outline: However often and in whatever order Stripe sends a dispute's events, it counts once
    Given the platform's setting for lost disputes of destination charges is "tenant"
    And a tenant selling with destination charges, and a customer who paid 42.30 USD
    When Stripe sends the dispute's events in the order <order>, each <times> times
    Then the booking stays confirmed, its payment <payment>
    And the ledger shows <recovered> taken back from the tenant
    And the tenant's statement shows <disputes> of disputes and a net of <net>

    Examples:
      | order                                      | times | payment  | recovered | disputes | net       |
      | closed as lost, funds withdrawn, opened    | 2     | disputed | 40.00 USD | 40.00 USD | 0.00 USD  |
      | funds reinstated, closed as won, opened    | 3     | paid     | 0.00 USD  | 0.00 USD  | 40.00 USD |
      | opened, closed as lost, opened             | 2     | disputed | 40.00 USD | 40.00 USD | 0.00 USD  |
