@refunds
Feature: Refunds and statements through the HTTP API
  As a tenant
  I want to refund part or all of a booking, as often as I need to
  So that I can settle with a customer without ever giving back more than they paid

  As a tenant and as the platform operator
  I want statements that always balance: net = gross − refunds − fees + fee refunds
  So that every number can be checked against Stripe to the cent

  How to read and extend the tables:
  - "refunds" lists the tenant's refund requests in order, separated by commas; "the rest"
    asks for everything still refundable.
  - "fee refund" is the fee policy's refund on cancellation: with "proportional" the platform
    gives back its fee in the same proportion as the payment is refunded (rounded on
    running totals, so the fee given back over many refunds is never more than the fee);
    with "never" the tenant's share pays for every refund.
  - Amounts are in the currency's own units (JPY: none; KWD: three, multiples of 0.010).
  - When Stripe cannot be reached, it either "never hears of the refund" (the request was
    lost on the way) or "makes the refund but its answer is lost" (a timeout, or Bookpay
    stopped before reading the answer). "who tries again" is the tenant asking again, the
    tenant asking for something else, or Bookpay's reconciliation.

  Scenario Outline: A tenant refunds part of a booking, then more
    Given a tenant that can take charges, with fee policy "<fee policy>" borne by the customer and fee refund "<fee refund>"
    And an offering priced at <price> with cancellation policy "none" and a slot that starts in 72 hours
    And a customer has paid for <seats> seats, <paid> in all
    When the tenant refunds <refunds>
    Then every refund is accepted
    And the booking is still "confirmed", its payment <payment>
    And the customer got back <customer refund> and the platform gave back <fee back> of its fee
    And the booking's ledger has each refund once

    Examples:
      | fee policy    | fee refund   | price      | seats | paid       | refunds                       | customer refund | fee back  | payment            |
      | 5% + 0.30 USD | proportional | 20.00 USD  | 2     | 42.30 USD  | 10.00 USD                     | 10.00 USD       | 0.54 USD  | partially refunded |
      | 5% + 0.30 USD | proportional | 20.00 USD  | 2     | 42.30 USD  | 10.00 USD, 5.00 USD, the rest | 42.30 USD       | 2.30 USD  | refunded           |
      | 5% + 0.30 USD | never        | 20.00 USD  | 2     | 42.30 USD  | 10.00 USD, the rest           | 42.30 USD       | 0.00 USD  | refunded           |
      | 5% + 0.30 USD | proportional | 20.00 USD  | 2     | 42.30 USD  | 0.01 USD, 0.01 USD, 0.01 USD  | 0.03 USD        | 0.00 USD  | partially refunded |
      | 10% + 0 JPY   | proportional | 1500 JPY   | 2     | 3300 JPY   | 1000 JPY, the rest            | 3300 JPY        | 300 JPY   | refunded           |
      | 10% + 0 JPY   | proportional | 1500 JPY   | 2     | 3300 JPY   | 333 JPY                       | 333 JPY         | 30 JPY    | partially refunded |
      | 7.5% + 0 KWD  | proportional | 12.340 KWD | 1     | 13.270 KWD | 5.000 KWD, the rest           | 13.270 KWD      | 0.930 KWD | refunded           |
      | 7.5% + 0 KWD  | never        | 12.340 KWD | 1     | 13.270 KWD | 1.230 KWD                     | 1.230 KWD       | 0.000 KWD | partially refunded |

  @refusal
  Scenario Outline: A refund of more than is left is refused
    Given a tenant that can take charges, with fee policy "5% + 0.30 USD" borne by the customer and fee refund "proportional"
    And an offering priced at 20.00 USD with cancellation policy "none" and a slot that starts in 72 hours
    And a customer has paid for 2 seats, 42.30 USD in all
    When the tenant refunds <refunds>
    Then the last refund is <outcome>
    And the customer got back <customer refund> and the platform gave back <fee back> of its fee

    Examples:
      | refunds             | outcome                               | customer refund | fee back |
      | 42.31 USD           | refused: more than is left to refund  | 0.00 USD        | 0.00 USD |
      | 40.00 USD, 2.31 USD | refused: more than is left to refund  | 40.00 USD       | 2.17 USD |
      | the rest, 0.01 USD  | refused: more than is left to refund  | 42.30 USD       | 2.30 USD |
      | 0.00 USD            | refused: nothing to refund            | 0.00 USD        | 0.00 USD |

  Scenario: A refund sent again with the same retry key refunds once
    Given a tenant that can take charges, with fee policy "5% + 0.30 USD" borne by the customer and fee refund "proportional"
    And an offering priced at 20.00 USD with cancellation policy "none" and a slot that starts in 72 hours
    And a customer has paid for 2 seats, 42.30 USD in all
    When the tenant refunds 10.00 USD with retry key "refund-7" twice
    Then every refund is accepted
    And both refund answers are the same
    And the customer got back 10.00 USD and the platform gave back 0.54 USD of its fee
    And the booking's ledger has each refund once

  Scenario Outline: The tenant's statement and the platform's fee report balance
    Given a tenant that can take charges, with fee policy "<fee policy>" borne by the customer and fee refund "<fee refund>"
    And an offering priced at <price> with cancellation policy "none" and a slot that starts in 72 hours
    And a customer has paid for <seats> seats, <paid> in all
    When the tenant refunds <refunds>
    Then the tenant's statement in <currency> shows gross <paid>, refunds <customer refund>, fees <fees>, fee refunds <fee back> and net <net>
    And the same statement as CSV has the same numbers, written as people read them
    And the platform's fee report shows fees <fees> and fee refunds <fee back> for the tenant
    And a statement of a period before the booking is empty

    Examples:
      | fee policy    | fee refund   | price      | seats | paid       | refunds   | currency | customer refund | fees      | fee back  | net        |
      | 5% + 0.30 USD | proportional | 20.00 USD  | 2     | 42.30 USD  | 10.00 USD | USD      | 10.00 USD       | 2.30 USD  | 0.54 USD  | 30.54 USD  |
      | 5% + 0.30 USD | never        | 20.00 USD  | 2     | 42.30 USD  | the rest  | USD      | 42.30 USD       | 2.30 USD  | 0.00 USD  | -2.30 USD  |
      | 10% + 0 JPY   | proportional | 1500 JPY   | 2     | 3300 JPY   | 1650 JPY  | JPY      | 1650 JPY        | 300 JPY   | 150 JPY   | 1500 JPY   |
      | 7.5% + 0 KWD  | proportional | 12.340 KWD | 1     | 13.270 KWD | the rest  | KWD      | 13.270 KWD      | 0.930 KWD | 0.930 KWD | 0.000 KWD  |

  @outage
  Scenario Outline: Money goes back when Stripe confirms it, never before, and only once
    Given a tenant that can take charges, with fee policy "5% + 0.30 USD" borne by the customer and fee refund "proportional"
    And an offering priced at 20.00 USD with cancellation policy "none" and a slot that starts in 72 hours
    And a customer has paid for 2 seats, 42.30 USD in all
    And Stripe cannot be reached, and <outage>
    When the tenant <asks>
    Then the tenant is told nothing was confirmed yet and to try again
    And the booking is "confirmed"
    And the customer got back 0.00 USD and the platform gave back 0.00 USD of its fee
    When Stripe can be reached again and <who tries again>
    Then the booking is "<status>"
    And the customer got back <customer refund> and the platform gave back <fee back> of its fee
    And Stripe made each refund the booking shows, once

    Examples:
      | outage                                       | asks                | who tries again                   | status    | customer refund | fee back |
      | never hears of the refund                    | cancels the booking | the tenant asks again             | cancelled | 42.30 USD       | 2.30 USD |
      | makes the refund but its answer is lost      | cancels the booking | the tenant asks again             | cancelled | 42.30 USD       | 2.30 USD |
      | never hears of the refund                    | cancels the booking | reconciliation runs               | cancelled | 42.30 USD       | 2.30 USD |
      | makes the refund but its answer is lost      | refunds 10.00 USD   | reconciliation runs               | confirmed | 10.00 USD       | 0.54 USD |
      | makes the refund but its answer is lost      | refunds 10.00 USD   | the tenant refunds the rest       | confirmed | 42.30 USD       | 2.30 USD |
      | never hears of the refund                    | refunds 10.00 USD   | the tenant cancels the booking    | cancelled | 42.30 USD       | 2.30 USD |

  Scenario Outline: A refund made in Stripe's dashboard books the fee refund Stripe made
    A refund can be made in Stripe's dashboard instead of through Bookpay, with or without
    giving back the platform's fee. The ledger books what Stripe did, not what the fee
    policy would have done: a refund made in Stripe's dashboard without the fee keeps the
    platform's fee, and the tenant gives back the whole amount.
    Given a tenant that can take charges, with fee policy "5% + 0.30 USD" borne by the customer and fee refund "proportional"
    And an offering priced at 20.00 USD with cancellation policy "none" and a slot that starts in 72 hours
    And a customer has paid for 2 seats, 42.30 USD in all
    When <amount> is refunded in Stripe's dashboard <with or without> the platform's fee
    Then the customer got back <amount> and the platform gave back <fee back> of its fee
    And the tenant's statement in USD shows gross 42.30 USD, refunds <amount>, fees 2.30 USD, fee refunds <fee back> and net <net>

    Examples:
      | amount    | with or without | fee back | net       |
      | 21.15 USD | without         | 0.00 USD | 18.85 USD |
      | 21.15 USD | with            | 1.15 USD | 20.00 USD |
      | 42.30 USD | without         | 0.00 USD | -2.30 USD |
      | 42.30 USD | with            | 2.30 USD | 0.00 USD  |
