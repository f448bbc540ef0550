@cancellations
Feature: Cancellations and refunds
  As a customer
  I want to know, before I cancel, how much of what I paid comes back
  So that the cancellation policy I accepted is the one applied

  As a tenant
  I want my own cancellations to refund my customers in full
  So that they never pay for a service I did not deliver

  As a platform operator
  I want the service fee refunded exactly as the tenant's fee policy says
  So that a refund never silently comes out of the platform's balance or exceeds the payment

  How to read and extend the tables:
  - A cancellation policy reads "48 h: 100%; 24 h: 50%": cancelled at least 48 hours
    before the start → 100 % back, at least 24 hours → 50 %. The widest window that still
    applies wins; outside every window the customer can no longer cancel. "none" means
    no windows: a full refund up to the start.
  - The service fee refund on cancellation is "proportional" (the platform gives back the
    same share of its fee as the customer gets back of the price) or "never" (the fee is
    non-refundable). With a non-refundable fee, a customer who bore the fee gets the
    refund percentage of the price only; when the tenant cancels, the customer still gets
    everything back and the tenant's share pays for the platform's fee.
  - "tenant gives back" is what comes back out of the tenant's transfer: the customer's
    refund minus the part of the fee the platform gives back.
  - Refunds are listed in order, separated by commas: "10.00 USD, 5.00 USD".

  Scenario Outline: The widest window that still applies decides the refund
    Given the cancellation policy "<windows>"
    When the customer cancels <time before start> before the start
    Then they are entitled to <refund percent> of their payment

    Examples:
      | windows                         | time before start   | refund percent |
      | 48 h: 100%; 24 h: 50%; 2 h: 10% | 72 hours            | 100%           |
      | 48 h: 100%; 24 h: 50%; 2 h: 10% | 48 hours            | 100%           |
      | 48 h: 100%; 24 h: 50%; 2 h: 10% | 47 hours 59 minutes | 50%            |
      | 48 h: 100%; 24 h: 50%; 2 h: 10% | 24 hours            | 50%            |
      | 48 h: 100%; 24 h: 50%; 2 h: 10% | 3 hours             | 10%            |
      | 48 h: 100%; 24 h: 50%; 2 h: 10% | 2 hours             | 10%            |
      | 2 h: 10%; 48 h: 100%; 24 h: 50% | 30 hours            | 50%            |
      | 24 h: 100%; 0 h: 25%            | 1 hour              | 25%            |
      | 24 h: 100%; 0 h: 25%            | 0 minutes           | 25%            |
      | 72 h: 0%                        | 80 hours            | 0%             |
      | none                            | 1 minute            | 100%           |

  @refusal
  Scenario Outline: Outside every window the customer can no longer cancel
    Given the cancellation policy "<windows>"
    When the customer cancels <time before start> before the start
    Then it is refused: the cancellation window has closed

    Examples:
      | windows                         | time before start |
      | 48 h: 100%; 24 h: 50%; 2 h: 10% | 1 hour 59 minutes |
      | 48 h: 100%; 24 h: 50%; 2 h: 10% | 0 minutes         |
      | 24 h: 100%; 0 h: 25%            | -1 minute         |
      | none                            | 0 minutes         |
      | none                            | -2 hours          |

  @refusal
  Scenario Outline: A cancellation policy that promises the impossible is refused
    When a tenant sets the cancellation policy "<windows>"
    Then it is refused: not a cancellation policy

    Examples:
      | windows               |
      | 48 h: 120%            |
      | 24 h: 100%; 24 h: 50% |
      | -1 h: 50%             |

  Scenario Outline: A customer's cancellation refunds their share, and the fee as the policy says
    Given the platform charges <fee rate> of the subtotal
    And the fee bearer is <bearer>
    And the service fee refund on cancellation is <fee refund mode>
    And a customer has paid for <seats> seats at <price> each
    When the customer cancels in a window that refunds <refund percent>
    Then the customer gets back <customer refund>
    And the platform gives back <fee refund> of its fee
    And the tenant gives back <tenant gives back>
    And the booking is cancelled

    Examples: proportional — the customer gets back the same share of everything they paid
      | fee rate | bearer         | fee refund mode | seats | price     | refund percent | customer refund | fee refund | tenant gives back |
      | 10%      | customer       | proportional    | 2     | 20.00 USD | 100%           | 44.00 USD       | 4.00 USD   | 40.00 USD         |
      | 10%      | customer       | proportional    | 2     | 20.00 USD | 50%            | 22.00 USD       | 2.00 USD   | 20.00 USD         |
      | 10%      | tenant         | proportional    | 2     | 20.00 USD | 100%           | 40.00 USD       | 4.00 USD   | 36.00 USD         |
      | 10%      | tenant         | proportional    | 2     | 20.00 USD | 50%            | 20.00 USD       | 2.00 USD   | 18.00 USD         |
      | 10%      | split 5000 bps | proportional    | 2     | 20.00 USD | 50%            | 21.00 USD       | 2.00 USD   | 19.00 USD         |
      | 7.5%     | customer       | proportional    | 3     | 15.00 USD | 25%            | 12.10 USD       | 0.85 USD   | 11.25 USD         |
      | 10%      | customer       | proportional    | 2     | 20.00 USD | 0%             | 0.00 USD        | 0.00 USD   | 0.00 USD          |
      | 10%      | customer       | proportional    | 2     | 1500 JPY  | 50%            | 1650 JPY        | 150 JPY    | 1500 JPY          |
      | 10%      | customer       | proportional    | 3     | 1.250 KWD | 50%            | 2.070 KWD       | 0.190 KWD  | 1.880 KWD         |

    Examples: never — the service fee is non-refundable
      | fee rate | bearer         | fee refund mode | seats | price     | refund percent | customer refund | fee refund | tenant gives back |
      | 10%      | customer       | never           | 2     | 20.00 USD | 100%           | 40.00 USD       | 0.00 USD   | 40.00 USD         |
      | 10%      | customer       | never           | 2     | 20.00 USD | 50%            | 20.00 USD       | 0.00 USD   | 20.00 USD         |
      | 10%      | tenant         | never           | 2     | 20.00 USD | 100%           | 40.00 USD       | 0.00 USD   | 40.00 USD         |
      | 10%      | tenant         | never           | 2     | 20.00 USD | 50%            | 20.00 USD       | 0.00 USD   | 20.00 USD         |
      | 10%      | split 5000 bps | never           | 2     | 20.00 USD | 50%            | 20.00 USD       | 0.00 USD   | 20.00 USD         |
      | 10%      | customer       | never           | 2     | 1500 JPY  | 50%            | 1500 JPY        | 0 JPY      | 1500 JPY          |
      | 10%      | customer       | never           | 3     | 1.250 KWD | 50%            | 1.880 KWD       | 0.000 KWD  | 1.880 KWD         |

  Scenario Outline: A tenant's cancellation refunds the customer in full
    Given the platform charges <fee rate> of the subtotal
    And the fee bearer is <bearer>
    And the service fee refund on cancellation is <fee refund mode>
    And a customer has paid for <seats> seats at <price> each
    When the tenant cancels
    Then the customer gets back <customer refund>
    And the platform gives back <fee refund> of its fee
    And the tenant gives back <tenant gives back>
    And nothing more can be refunded
    And the booking is cancelled

    Examples:
      | fee rate | bearer         | fee refund mode | seats | price     | customer refund | fee refund | tenant gives back |
      | 10%      | customer       | proportional    | 2     | 20.00 USD | 44.00 USD       | 4.00 USD   | 40.00 USD         |
      | 10%      | customer       | never           | 2     | 20.00 USD | 44.00 USD       | 0.00 USD   | 44.00 USD         |
      | 10%      | tenant         | proportional    | 2     | 20.00 USD | 40.00 USD       | 4.00 USD   | 36.00 USD         |
      | 10%      | tenant         | never           | 2     | 20.00 USD | 40.00 USD       | 0.00 USD   | 40.00 USD         |
      | 10%      | split 5000 bps | never           | 2     | 20.00 USD | 42.00 USD       | 0.00 USD   | 42.00 USD         |
      | 10%      | customer       | never           | 2     | 1500 JPY  | 3300 JPY        | 0 JPY      | 3300 JPY          |
      | 10%      | customer       | proportional    | 3     | 1.250 KWD | 4.130 KWD       | 0.380 KWD  | 3.750 KWD         |

  Scenario Outline: Partial refunds add up to at most what the customer paid
    Given the platform charges 10% of the subtotal
    And the fee bearer is <bearer>
    And the service fee refund on cancellation is <fee refund mode>
    And a customer has paid for <seats> seats at <price> each
    When the tenant refunds "<refunds>"
    Then the customer has got back <refunded> in total
    And the platform has given back <fee refund> of its fee in total
    And <still refundable> can still be refunded

    Examples:
      | bearer   | fee refund mode | seats | price     | refunds                        | refunded  | fee refund | still refundable |
      | customer | proportional    | 2     | 20.00 USD | 10.00 USD                      | 10.00 USD | 0.91 USD   | 34.00 USD        |
      | customer | proportional    | 2     | 20.00 USD | 10.00 USD, 5.00 USD            | 15.00 USD | 1.36 USD   | 29.00 USD        |
      | customer | proportional    | 2     | 20.00 USD | 10.00 USD, 5.00 USD, 29.00 USD | 44.00 USD | 4.00 USD   | 0.00 USD         |
      | customer | proportional    | 2     | 20.00 USD | 0.01 USD, 0.01 USD, 0.01 USD   | 0.03 USD  | 0.00 USD   | 43.97 USD        |
      | customer | never           | 2     | 20.00 USD | 10.00 USD, 34.00 USD           | 44.00 USD | 0.00 USD   | 0.00 USD         |
      | tenant   | proportional    | 2     | 20.00 USD | 20.00 USD, 20.00 USD           | 40.00 USD | 4.00 USD   | 0.00 USD         |
      | customer | proportional    | 2     | 1500 JPY  | 1000 JPY, 2300 JPY             | 3300 JPY  | 300 JPY    | 0 JPY            |
      | customer | proportional    | 3     | 1.250 KWD | 1.000 KWD, 1.000 KWD           | 2.000 KWD | 0.180 KWD  | 2.130 KWD        |

  @refusal
  Scenario Outline: A refund beyond what is still refundable is refused
    Given the platform charges 10% of the subtotal
    And the fee bearer is <bearer>
    And the service fee refund on cancellation is proportional
    And a customer has paid for <seats> seats at <price> each
    When the tenant refunds "<refunds>"
    Then it is refused: <reason>
    And <still refundable> can still be refunded

    Examples:
      | bearer   | seats | price     | refunds             | reason                       | still refundable |
      | customer | 2     | 20.00 USD | 44.01 USD           | more than the customer paid  | 44.00 USD        |
      | customer | 2     | 20.00 USD | 40.00 USD, 4.01 USD | more than the customer paid  | 4.00 USD         |
      | tenant   | 2     | 20.00 USD | 40.00 USD, 0.01 USD | more than the customer paid  | 0.00 USD         |
      | customer | 2     | 1500 JPY  | 3000 JPY, 301 JPY   | more than the customer paid  | 300 JPY          |
      | customer | 3     | 1.250 KWD | 1.005 KWD           | not a refund of this payment | 4.130 KWD        |
      | customer | 2     | 20.00 USD | 5.00 EUR            | not a refund of this payment | 44.00 USD        |

  Scenario Outline: A cancellation after a partial refund only tops the refund up
    Given the platform charges 10% of the subtotal
    And the fee bearer is customer
    And the service fee refund on cancellation is <fee refund mode>
    And a customer has paid for 2 seats at 20.00 USD each
    And the tenant has already refunded <already refunded>
    When the customer cancels in a window that refunds <refund percent>
    Then the customer gets back <customer refund>
    And the customer has got back <refunded> in total
    And the platform has given back <fee refund> of its fee in total

    Examples:
      | fee refund mode | already refunded | refund percent | customer refund | refunded  | fee refund |
      | proportional    | 10.00 USD        | 50%            | 12.00 USD       | 22.00 USD | 2.00 USD   |
      | proportional    | 30.00 USD        | 50%            | 0.00 USD        | 30.00 USD | 2.73 USD   |
      | proportional    | 10.00 USD        | 100%           | 34.00 USD       | 44.00 USD | 4.00 USD   |
      | never           | 10.00 USD        | 50%            | 10.00 USD       | 20.00 USD | 0.00 USD   |

  Scenario: The policy window decides what a customer gets back in money
    Given the platform charges 10% of the subtotal
    And the fee bearer is customer
    And the service fee refund on cancellation is proportional
    And the cancellation policy "48 h: 100%; 24 h: 50%"
    And a customer has paid for 2 seats at 20.00 USD each
    When the customer cancels 30 hours before the start
    Then they are entitled to 50% of their payment
    And the customer gets back 22.00 USD
    And the platform gives back 2.00 USD of its fee
    And the tenant gives back 20.00 USD
