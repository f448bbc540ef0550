@cancellations
Feature: Cancelling a paid booking through the HTTP API
  As a customer
  I want to cancel my booking with the link I was given, under the policy I accepted
  So that I get back exactly what the policy promised, and nothing is taken twice

  As a tenant
  I want my own cancellations to give my customers everything back
  So that they never pay for a service I did not deliver

  How to read and extend the tables:
  - "fee policy" is the platform's fee ("5% + 0.30 USD", or "7.5% + 0 KWD"), borne by the
    customer (added to the price) or the tenant (taken out of it).
  - "fee refund" is the fee policy's refund on cancellation: "proportional" (the platform gives
    back the same share of its fee as the customer gets back) or "never" (the fee is
    non-refundable: a customer who bore it gets the window's share of the price only, and
    when the tenant cancels the tenant's share pays for the fee).
  - "windows" is the offering's cancellation policy: "48 h: 100%; 24 h: 50%" (the widest
    window that still applies wins); "none" means a full refund up to the start.
  - "starts in" is how long before the start the customer cancels.
  - Amounts are in the currency's own units: JPY has no decimals, KWD has three and
    Stripe takes only multiples of 10 (0.010 KWD).

  Scenario Outline: A customer cancels under the offering's cancellation policy
    Given a tenant that can take charges, with fee policy "<fee policy>" borne by the <bearer> and fee refund "<fee refund>"
    And an offering priced at <price> with cancellation policy "<windows>" and a slot that starts in <starts in>
    And a customer has paid for <seats> seats, <paid> in all
    When the customer cancels with their booking link
    Then the cancellation is accepted
    And the booking is "cancelled"
    And the customer got back <customer refund> and the platform gave back <fee back> of its fee
    And the booking's ledger has each refund once
    And the slot has all its seats available again

    Examples:
      | fee policy    | bearer   | fee refund   | price      | windows               | starts in | seats | paid       | customer refund | fee back  |
      | 5% + 0.30 USD | customer | proportional | 20.00 USD  | 48 h: 100%; 24 h: 50% | 72 hours  | 2     | 42.30 USD  | 42.30 USD       | 2.30 USD  |
      | 5% + 0.30 USD | customer | proportional | 20.00 USD  | 48 h: 100%; 24 h: 50% | 30 hours  | 2     | 42.30 USD  | 21.15 USD       | 1.15 USD  |
      | 5% + 0.30 USD | customer | never        | 20.00 USD  | 48 h: 100%; 24 h: 50% | 30 hours  | 2     | 42.30 USD  | 20.00 USD       | 0.00 USD  |
      | 5% + 0.30 USD | customer | never        | 20.00 USD  | 48 h: 100%; 24 h: 50% | 72 hours  | 2     | 42.30 USD  | 40.00 USD       | 0.00 USD  |
      | 5% + 0.30 USD | tenant   | proportional | 20.00 USD  | 48 h: 100%; 24 h: 50% | 30 hours  | 2     | 40.00 USD  | 20.00 USD       | 1.15 USD  |
      | 5% + 0.30 USD | tenant   | never        | 20.00 USD  | 48 h: 100%; 24 h: 50% | 30 hours  | 2     | 40.00 USD  | 20.00 USD       | 0.00 USD  |
      | 5% + 0.30 USD | customer | proportional | 20.00 USD  | 72 h: 0%              | 80 hours  | 2     | 42.30 USD  | 0.00 USD        | 0.00 USD  |
      | 5% + 0.30 USD | customer | proportional | 20.00 USD  | none                  | 2 hours   | 2     | 42.30 USD  | 42.30 USD       | 2.30 USD  |
      | 10% + 0 JPY   | customer | proportional | 1500 JPY   | 48 h: 100%; 24 h: 50% | 30 hours  | 2     | 3300 JPY   | 1650 JPY        | 150 JPY   |
      | 10% + 0 JPY   | customer | never        | 1500 JPY   | 48 h: 100%; 24 h: 50% | 30 hours  | 2     | 3300 JPY   | 1500 JPY        | 0 JPY     |
      | 7.5% + 0 KWD  | customer | proportional | 12.340 KWD | 48 h: 100%; 24 h: 50% | 30 hours  | 1     | 13.270 KWD | 6.640 KWD       | 0.470 KWD |
      | 7.5% + 0 KWD  | customer | never        | 12.340 KWD | 48 h: 100%; 24 h: 50% | 30 hours  | 1     | 13.270 KWD | 6.170 KWD       | 0.000 KWD |

  @refusal
  Scenario Outline: Outside every window the customer can no longer cancel
    Given a tenant that can take charges, with fee policy "5% + 0.30 USD" borne by the customer and fee refund "proportional"
    And an offering priced at 20.00 USD with cancellation policy "<windows>" and a slot that starts in <starts in>
    And a customer has paid for 2 seats, 42.30 USD in all
    When the customer cancels with their booking link
    Then the cancellation is refused: the cancellation window has closed
    And the booking is "confirmed"
    And the customer got back 0.00 USD and the platform gave back 0.00 USD of its fee

    Examples:
      | windows                         | starts in         |
      | 48 h: 100%; 24 h: 50%; 2 h: 10% | 1 hour 58 minutes |
      | 48 h: 100%; 24 h: 50%           | 23 hours          |

  Scenario Outline: A tenant's cancellation gives the customer everything back
    Given a tenant that can take charges, with fee policy "<fee policy>" borne by the <bearer> and fee refund "<fee refund>"
    And an offering priced at <price> with cancellation policy "48 h: 100%; 24 h: 50%" and a slot that starts in 3 hours
    And a customer has paid for <seats> seats, <paid> in all
    When the tenant cancels the booking
    Then the cancellation is accepted
    And the booking is "cancelled"
    And the customer got back <paid> and the platform gave back <fee back> of its fee
    And the booking's ledger has each refund once
    And the slot has all its seats available again

    Examples:
      | fee policy    | bearer   | fee refund   | price      | seats | paid       | fee back  |
      | 5% + 0.30 USD | customer | proportional | 20.00 USD  | 2     | 42.30 USD  | 2.30 USD  |
      | 5% + 0.30 USD | customer | never        | 20.00 USD  | 2     | 42.30 USD  | 0.00 USD  |
      | 5% + 0.30 USD | tenant   | never        | 20.00 USD  | 2     | 40.00 USD  | 0.00 USD  |
      | 10% + 0 JPY   | customer | never        | 1500 JPY   | 2     | 3300 JPY   | 0 JPY     |
      | 7.5% + 0 KWD  | customer | proportional | 12.340 KWD | 1     | 13.270 KWD | 0.930 KWD |

  Scenario: A cancellation sent twice cancels and refunds once
    Given a tenant that can take charges, with fee policy "5% + 0.30 USD" borne by the customer and fee refund "proportional"
    And an offering priced at 20.00 USD with cancellation policy "none" and a slot that starts in 30 hours
    And a customer has paid for 2 seats, 42.30 USD in all
    When the customer cancels with their booking link
    And the customer cancels with their booking link
    Then the cancellation is accepted
    And the customer got back 42.30 USD and the platform gave back 2.30 USD of its fee
    And the booking's ledger has each refund once
