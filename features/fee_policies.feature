@fees
Feature: Service fee policies
  As a platform operator
  I want each tenant's service fee computed exactly from the pricing model we agreed on
  So that the platform earns what was agreed, to the minor unit, and never more than the charge

  As a tenant
  I want every number of a booking's price shown before my customer checks out
  So that I know what my customer pays and what reaches my account

  How to read and extend the tables:
  - Money is written the usual way: "20.00 USD", "9.99 EUR", "1500 JPY", "1.250 KWD".
    Amounts inside a tier table take the currency of the price.
  - Rates are percentages ("2.5%") or basis points ("250 bps"); "none" means the policy
    has no such component.
  - The fee bearer is "customer" (the fee is added to the price as a "Service fee" line),
    "tenant" (the fee comes out of the price) or "split N bps", where N is the customer's
    share of the fee in basis points (5000 bps = half).
  - Tiers read "up to 100.00: 10% + 0.30; above: 5%". In volume mode the tier the
    subtotal falls in prices all of it; in marginal mode each slice is priced by its tier.
  - The fee is computed exactly, rounded once half-up to the minor unit, then half-up to
    the step Stripe accepts (multiples of 10 for KWD), and only then capped.
  - Every quote balances: customer total = subtotal + the customer's share of the fee,
    application fee = the whole service fee, tenant receives = customer total −
    application fee, and 0 ≤ application fee ≤ customer total.

  Scenario Outline: Percentage, fixed and per-seat components add up
    Given the platform charges <percentage> of the subtotal
    And a fixed fee of <fixed> per booking
    And a fixed fee of <per seat> per seat
    And the fee bearer is customer
    When a customer books <seats> seats at <price> each
    Then the subtotal is <subtotal>
    And the service fee is <service fee>
    And the customer pays <customer total>
    And the application fee is <application fee>
    And the tenant receives <tenant receives>
    And the quote balances

    Examples:
      | percentage | fixed    | per seat  | seats | price     | subtotal  | service fee | customer total | application fee | tenant receives |
      | 10%        | none     | none      | 2     | 20.00 USD | 40.00 USD | 4.00 USD    | 44.00 USD      | 4.00 USD        | 40.00 USD       |
      | 12%        | 0.10 GBP | none      | 5     | 3.00 GBP  | 15.00 GBP | 1.90 GBP    | 16.90 GBP      | 1.90 GBP        | 15.00 GBP       |
      | 2.5%       | none     | none      | 1     | 19.99 USD | 19.99 USD | 0.50 USD    | 20.49 USD      | 0.50 USD        | 19.99 USD       |
      | 0%         | 0.30 USD | none      | 3     | 10.00 USD | 30.00 USD | 0.30 USD    | 30.30 USD      | 0.30 USD        | 30.00 USD       |
      | 0%         | none     | 0.50 USD  | 3     | 10.00 USD | 30.00 USD | 1.50 USD    | 31.50 USD      | 1.50 USD        | 30.00 USD       |
      | 2.9%       | 0.30 USD | 0.25 USD  | 4     | 12.50 USD | 50.00 USD | 2.75 USD    | 52.75 USD      | 2.75 USD        | 50.00 USD       |
      | 150 bps    | 0.20 EUR | none      | 2     | 9.99 EUR  | 19.98 EUR | 0.50 EUR    | 20.48 EUR      | 0.50 EUR        | 19.98 EUR       |
      | 5%         | 100 JPY  | 20 JPY    | 3     | 1200 JPY  | 3600 JPY  | 340 JPY     | 3940 JPY       | 340 JPY         | 3600 JPY        |
      | 1%         | none     | 0.100 KWD | 2     | 2.500 KWD | 5.000 KWD | 0.250 KWD   | 5.250 KWD      | 0.250 KWD       | 5.000 KWD       |

  Scenario Outline: Minimum and maximum caps bound the fee, which never exceeds the charge
    Given the platform charges <percentage> of the subtotal
    And a fixed fee of <fixed> per booking
    And a minimum fee of <minimum>
    And a maximum fee of <maximum>
    And the fee bearer is <bearer>
    When a customer books <seats> seats at <price> each
    Then the subtotal is <subtotal>
    And the service fee is <service fee>
    And the customer pays <customer total>
    And the application fee is <application fee>
    And the tenant receives <tenant receives>
    And the quote balances

    Examples: the minimum lifts a small fee, the maximum stops a large one
      | percentage | fixed | minimum   | maximum   | bearer   | seats | price     | subtotal   | service fee | customer total | application fee | tenant receives |
      | 1%         | none  | 1.00 USD  | none      | customer | 1     | 20.00 USD | 20.00 USD  | 1.00 USD    | 21.00 USD      | 1.00 USD        | 20.00 USD       |
      | 10%        | none  | none      | 5.00 USD  | customer | 3     | 25.00 USD | 75.00 USD  | 5.00 USD    | 80.00 USD      | 5.00 USD        | 75.00 USD       |
      | 10%        | none  | 1.00 USD  | 5.00 USD  | tenant   | 2     | 20.00 USD | 40.00 USD  | 4.00 USD    | 40.00 USD      | 4.00 USD        | 36.00 USD       |
      | 5%         | none  | 100 JPY   | 500 JPY   | tenant   | 1     | 1000 JPY  | 1000 JPY   | 100 JPY     | 1000 JPY       | 100 JPY         | 900 JPY         |
      | 5%         | none  | 100 JPY   | 500 JPY   | tenant   | 4     | 5000 JPY  | 20000 JPY  | 500 JPY     | 20000 JPY      | 500 JPY         | 19500 JPY       |
      | 5%         | none  | 0.500 KWD | 2.000 KWD | customer | 10    | 5.000 KWD | 50.000 KWD | 2.000 KWD   | 52.000 KWD     | 2.000 KWD       | 50.000 KWD      |

    Examples: a minimum larger than the charge is cut back to the charge
      | percentage | fixed    | minimum  | maximum  | bearer | seats | price    | subtotal | service fee | customer total | application fee | tenant receives |
      | 10%        | 0.30 USD | 1.00 USD | 5.00 USD | tenant | 1     | 0.60 USD | 0.60 USD | 0.60 USD    | 0.60 USD       | 0.60 USD        | 0.00 USD        |

  Scenario Outline: Whoever bears the fee, the same fee reaches the platform
    Given the platform charges <percentage> of the subtotal
    And the fee bearer is <bearer>
    When a customer books <seats> seats at <price> each
    Then the subtotal is <subtotal>
    And the service fee is <service fee>
    And the customer's service fee line is <fee line>
    And the customer pays <customer total>
    And the application fee is <application fee>
    And the tenant receives <tenant receives>
    And the quote balances

    Examples:
      | percentage | bearer         | seats | price     | subtotal  | service fee | fee line  | customer total | application fee | tenant receives |
      | 10%        | customer       | 2     | 20.00 USD | 40.00 USD | 4.00 USD    | 4.00 USD  | 44.00 USD      | 4.00 USD        | 40.00 USD       |
      | 10%        | tenant         | 2     | 20.00 USD | 40.00 USD | 4.00 USD    | 0.00 USD  | 40.00 USD      | 4.00 USD        | 36.00 USD       |
      | 10%        | split 5000 bps | 2     | 20.00 USD | 40.00 USD | 4.00 USD    | 2.00 USD  | 42.00 USD      | 4.00 USD        | 38.00 USD       |
      | 10%        | split 2500 bps | 2     | 20.00 USD | 40.00 USD | 4.00 USD    | 1.00 USD  | 41.00 USD      | 4.00 USD        | 37.00 USD       |
      | 10%        | split 3333 bps | 1     | 10.00 USD | 10.00 USD | 1.00 USD    | 0.33 USD  | 10.33 USD      | 1.00 USD        | 9.33 USD        |
      | 10%        | split 50%      | 1     | 1500 JPY  | 1500 JPY  | 150 JPY     | 75 JPY    | 1575 JPY       | 150 JPY         | 1425 JPY        |
      | 10%        | split 5000 bps | 1     | 1.250 KWD | 1.250 KWD | 0.130 KWD   | 0.070 KWD | 1.320 KWD      | 0.130 KWD       | 1.190 KWD       |
      | 8%         | tenant         | 3     | 7.50 EUR  | 22.50 EUR | 1.80 EUR    | 0.00 EUR  | 22.50 EUR      | 1.80 EUR        | 20.70 EUR       |

  Scenario Outline: Tiers by subtotal, in volume and in marginal mode
    Given the platform charges <percentage> of the subtotal
    And tiers by subtotal in <mode> mode: "<tiers>"
    And the fee bearer is <bearer>
    When a customer books <seats> seats at <price> each
    Then the subtotal is <subtotal>
    And the service fee is <service fee>
    And the customer pays <customer total>
    And the application fee is <application fee>
    And the tenant receives <tenant receives>
    And the quote balances

    Examples: one tier prices the whole subtotal in volume mode
      | percentage | mode   | tiers                                              | bearer   | seats | price      | subtotal   | service fee | customer total | application fee | tenant receives |
      | 0%         | volume | up to 100.00: 10% + 0.30; above: 5%                | customer | 1     | 50.00 USD  | 50.00 USD  | 5.30 USD    | 55.30 USD      | 5.30 USD        | 50.00 USD       |
      | 0%         | volume | up to 100.00: 10% + 0.30; above: 5%                | customer | 1     | 100.00 USD | 100.00 USD | 10.30 USD   | 110.30 USD     | 10.30 USD       | 100.00 USD      |
      | 0%         | volume | up to 100.00: 10% + 0.30; above: 5%                | customer | 2     | 100.00 USD | 200.00 USD | 10.00 USD   | 210.00 USD     | 10.00 USD       | 200.00 USD      |
      | 0%         | volume | up to 50.00: 0.50; up to 200.00: 1.00; above: 2.00 | tenant   | 3     | 25.00 USD  | 75.00 USD  | 1.00 USD    | 75.00 USD      | 1.00 USD        | 74.00 USD       |
      | 0%         | volume | up to 1000: 10%; up to 5000: 5%; above: 2%         | customer | 3     | 3000 JPY   | 9000 JPY   | 180 JPY     | 9180 JPY       | 180 JPY         | 9000 JPY        |
      | 0%         | volume | up to 100.00: 10%; up to 500.00: 5%                | tenant   | 6     | 100.00 USD | 600.00 USD | 30.00 USD   | 600.00 USD     | 30.00 USD       | 570.00 USD      |
      | 1%         | volume | up to 100.00: 10% + 0.30; above: 5%                | customer | 1     | 50.00 USD  | 50.00 USD  | 5.80 USD    | 55.80 USD      | 5.80 USD        | 50.00 USD       |

    Examples: each slice of the subtotal is priced by its own tier in marginal mode
      | percentage | mode     | tiers                                              | bearer   | seats | price      | subtotal   | service fee | customer total | application fee | tenant receives |
      | 0%         | marginal | up to 100.00: 10% + 0.30; above: 5%                | customer | 1     | 50.00 USD  | 50.00 USD  | 5.30 USD    | 55.30 USD      | 5.30 USD        | 50.00 USD       |
      | 0%         | marginal | up to 100.00: 10% + 0.30; above: 5%                | customer | 2     | 100.00 USD | 200.00 USD | 15.30 USD   | 215.30 USD     | 15.30 USD       | 200.00 USD      |
      | 0%         | marginal | up to 50.00: 0.50; up to 200.00: 1.00; above: 2.00 | tenant   | 3     | 25.00 USD  | 75.00 USD  | 1.50 USD    | 75.00 USD      | 1.50 USD        | 73.50 USD       |
      | 0%         | marginal | up to 1000: 10%; up to 5000: 5%; above: 2%         | customer | 3     | 3000 JPY   | 9000 JPY   | 380 JPY     | 9380 JPY       | 380 JPY         | 9000 JPY        |
      | 0%         | marginal | up to 10.000: 2%; above: 1%                        | customer | 3     | 5.000 KWD  | 15.000 KWD | 0.250 KWD   | 15.250 KWD     | 0.250 KWD       | 15.000 KWD      |
      | 0%         | marginal | up to 100.00: 10%; up to 500.00: 5%                | tenant   | 6     | 100.00 USD | 600.00 USD | 35.00 USD   | 600.00 USD     | 35.00 USD       | 565.00 USD      |

  Scenario Outline: Rounding is half-up to the minor unit, then to the step Stripe accepts
    Given the platform charges <percentage> of the subtotal
    And the fee bearer is <bearer>
    When a customer books <seats> seats at <price> each
    Then the subtotal is <subtotal>
    And the service fee is <service fee>
    And the customer pays <customer total>
    And the application fee is <application fee>
    And the tenant receives <tenant receives>
    And the quote balances

    Examples: USD and EUR have two decimals
      | percentage | bearer   | seats | price     | subtotal  | service fee | customer total | application fee | tenant receives |
      | 2.5%       | customer | 1     | 10.10 USD | 10.10 USD | 0.25 USD    | 10.35 USD      | 0.25 USD        | 10.10 USD       |
      | 2.5%       | customer | 1     | 10.20 USD | 10.20 USD | 0.26 USD    | 10.46 USD      | 0.26 USD        | 10.20 USD       |
      | 2.5%       | customer | 1     | 10.30 USD | 10.30 USD | 0.26 USD    | 10.56 USD      | 0.26 USD        | 10.30 USD       |
      | 1.5%       | tenant   | 1     | 33.00 EUR | 33.00 EUR | 0.50 EUR    | 33.00 EUR      | 0.50 EUR        | 32.50 EUR       |
      | 1.5%       | tenant   | 1     | 32.90 EUR | 32.90 EUR | 0.49 EUR    | 32.90 EUR      | 0.49 EUR        | 32.41 EUR       |

    Examples: JPY has no decimals
      | percentage | bearer   | seats | price    | subtotal | service fee | customer total | application fee | tenant receives |
      | 3.5%       | customer | 1     | 1500 JPY | 1500 JPY | 53 JPY      | 1553 JPY       | 53 JPY          | 1500 JPY        |
      | 3.5%       | customer | 3     | 1000 JPY | 3000 JPY | 105 JPY     | 3105 JPY       | 105 JPY         | 3000 JPY        |
      | 3.3%       | tenant   | 1     | 1234 JPY | 1234 JPY | 41 JPY      | 1234 JPY       | 41 JPY          | 1193 JPY        |

    Examples: KWD has three decimals, and Stripe takes only multiples of 0.010 KWD
      | percentage | bearer   | seats | price     | subtotal  | service fee | customer total | application fee | tenant receives |
      | 2.5%       | customer | 1     | 1.250 KWD | 1.250 KWD | 0.030 KWD   | 1.280 KWD      | 0.030 KWD       | 1.250 KWD       |
      | 1.5%       | tenant   | 1     | 3.000 KWD | 3.000 KWD | 0.050 KWD   | 3.000 KWD      | 0.050 KWD       | 2.950 KWD       |
      | 3%         | customer | 1     | 1.850 KWD | 1.850 KWD | 0.060 KWD   | 1.910 KWD      | 0.060 KWD       | 1.850 KWD       |
      | 1%         | customer | 1     | 1.450 KWD | 1.450 KWD | 0.020 KWD   | 1.470 KWD      | 0.020 KWD       | 1.450 KWD       |

  Scenario Outline: A total at or just above Stripe's minimum charge goes through
    Given the platform charges <percentage> of the subtotal
    And the fee bearer is <bearer>
    When a customer books <seats> seats at <price> each
    Then the customer pays <customer total>
    And the quote balances

    Examples:
      | percentage | bearer   | seats | price     | customer total |
      | 10%        | tenant   | 1     | 0.50 USD  | 0.50 USD       |
      | 10%        | customer | 1     | 0.46 USD  | 0.51 USD       |
      | 0%         | customer | 1     | 0.50 EUR  | 0.50 EUR       |
      | 10%        | tenant   | 1     | 50 JPY    | 50 JPY         |
      | 10%        | tenant   | 1     | 0.010 KWD | 0.010 KWD      |

  @refusal
  Scenario Outline: A total below Stripe's minimum charge is refused before any payment starts
    Given the platform charges <percentage> of the subtotal
    And the fee bearer is <bearer>
    When a customer books <seats> seats at <price> each
    Then it is refused: below the smallest charge
    And the refusal names the minimum charge of <minimum>

    Examples:
      | percentage | bearer   | seats | price     | minimum   |
      | 10%        | tenant   | 1     | 0.49 USD  | 0.50 USD  |
      | 0%         | customer | 1     | 0.40 EUR  | 0.50 EUR  |
      | 10%        | tenant   | 1     | 0.25 GBP  | 0.30 GBP  |
      | 5%         | tenant   | 1     | 49 JPY    | 50 JPY    |
      | 10%        | tenant   | 2     | 0.000 KWD | 0.010 KWD |

  Scenario Outline: A total at Stripe's maximum charge goes through
    Stripe takes at most eight digits in minor units in one payment, whatever the currency.

    Given the platform charges <percentage> of the subtotal
    And the fee bearer is <bearer>
    When a customer books <seats> seats at <price> each
    Then the customer pays <customer total>
    And the quote balances

    Examples:
      | percentage | bearer   | seats | price         | customer total |
      | 5%         | tenant   | 1     | 999999.99 USD | 999999.99 USD  |
      | 0%         | customer | 3     | 333333.33 USD | 999999.99 USD  |
      | 5%         | tenant   | 1     | 99999999 JPY  | 99999999 JPY   |
      | 1%         | customer | 1     | 99009900 JPY  | 99999999 JPY   |
      | 5%         | tenant   | 1     | 99999.990 KWD | 99999.990 KWD  |

  @refusal
  Scenario Outline: A total above Stripe's maximum charge is refused before any payment starts
    Given the platform charges <percentage> of the subtotal
    And the fee bearer is <bearer>
    When a customer books <seats> seats at <price> each
    Then it is refused as more than Stripe takes in one payment: at most <maximum>

    Examples:
      | percentage | bearer   | seats | price          | maximum       |
      | 5%         | tenant   | 30    | 50000.00 USD   | 999999.99 USD |
      | 0%         | tenant   | 2     | 500000.00 USD  | 999999.99 USD |
      | 1%         | customer | 1     | 999999.00 USD  | 999999.99 USD |
      | 5%         | tenant   | 2     | 50000000 JPY   | 99999999 JPY  |
      | 1%         | customer | 1     | 99999999 JPY   | 99999999 JPY  |
      | 5%         | tenant   | 2     | 50000.000 KWD  | 99999.990 KWD |
      | 10%        | customer | 1     | 99999.990 KWD  | 99999.990 KWD |

  @refusal
  Scenario Outline: A fee policy that contradicts itself or the price is refused
    Given the platform charges <percentage> of the subtotal
    And a fixed fee of <fixed> per booking
    And tiers by subtotal in volume mode: "<tiers>"
    And a minimum fee of <minimum>
    And a maximum fee of <maximum>
    When a customer books 1 seat at <price> each
    Then it is refused: <reason>

    Examples:
      | percentage | fixed     | tiers                              | minimum  | maximum  | price     | reason                |
      | 101%       | none      | none                               | none     | none     | 10.00 USD | not a fee policy      |
      | 10%        | 0.005 KWD | none                               | none     | none     | 1.000 KWD | not a fee policy      |
      | 10%        | none      | up to 100.00: 10%; up to 50.00: 5% | none     | none     | 10.00 USD | not a fee policy      |
      | 10%        | none      | above: 5%; up to 100.00: 10%       | none     | none     | 10.00 USD | not a fee policy      |
      | 10%        | none      | none                               | 5.00 USD | 1.00 USD | 10.00 USD | not a fee policy      |
      | 10%        | 0.30 EUR  | none                               | none     | none     | 10.00 USD | the currencies differ |
      | 10%        | none      | none                               | none     | none     | 1.005 KWD | not an amount         |

  Scenario: Each quote records the version of the fee policy it was sold with
    Given the platform charges 10% of the subtotal
    And the fee policy is version 3
    When a customer books 2 seats at 20.00 USD each
    Then the quote records fee policy version 3
    And the quote shows 2 seats at 20.00 USD each
