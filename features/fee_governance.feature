@fees
Feature: The platform governs its service fee
  As a platform operator
  I want to be the only one who sets the service fee, for a tenant or for one of its offerings
  So that the platform earns what was agreed and no tenant can waive it

  As a tenant
  I want every offering I sell to stay quotable, whatever changes
  So that none of my customers meets a checkout that cannot be priced

  How to read and extend the tables:
  - A fee is written "5% + 0.30 USD" (a percentage of the subtotal plus a fixed amount per
    booking) or "5%" alone. "5% + 0.30 USD, or + 0.25 EUR in EUR" gives the fixed amount
    for sales in euros too.
  - Every offering starts priced at 20.00 USD per seat, one slot, and is quoted for one seat.
  - "the tenant's policy" is the fee the platform set for all of the tenant's offerings;
    "the offering's policy" is the fee the platform set for that offering alone.

  Scenario Outline: Only the platform sets the service fee
    Given a tenant whose service fee is 5% + 0.30 USD
    And it sells an offering at 20.00 USD
    When <who> sets the fee <where> to <fee>
    Then the change is <outcome>
    And a quote for one seat of the offering shows a service fee of <service fee>

    Examples:
      | who          | where                   | fee | outcome   | service fee |
      | the tenant   | of its offering         | 0%  | forbidden | 1.30 USD    |
      | the tenant   | of a new offering       | 0%  | forbidden | 1.30 USD    |
      | the platform | of the tenant           | 10% | accepted  | 2.00 USD    |
      | the platform | of the offering         | 8%  | accepted  | 1.60 USD    |

  Scenario Outline: Every accepted change keeps every active offering quotable
    Given a tenant whose service fee is <tenant's fee>
    And it sells an offering at <price>
    When <change>
    Then the change is <outcome>
    And every active offering of the tenant can still be quoted

    Examples: the platform changes the fee
      | tenant's fee                           | price     | change                                                     | outcome                        |
      | 5% + 0.30 USD                          | 20.00 USD | the platform sets the tenant's fee to 5% + 0.30 EUR        | refused, naming the offering   |
      | 5% + 0.30 USD                          | 20.00 USD | the platform sets the offering's fee to 5% + 0.30 EUR      | refused, naming the offering   |
      | 5% + 0.30 USD                          | 20.00 USD | the platform sets the tenant's fee to 7%                   | accepted                       |
      | 5% + 0.30 USD, or + 0.25 EUR in EUR    | 20.00 EUR | the platform sets the tenant's fee to 5% + 0.30 USD        | refused, naming the offering   |
      | 5%                                     | 20.00 EUR | the platform sets the offering's fee to 5% + 0.25 EUR      | accepted                       |
      | 5%                                     | 20.00 EUR | the platform sets the tenant's fee to 5% + 0.30 USD        | refused, naming the offering   |

    Examples: the tenant changes what it sells
      | tenant's fee                           | price     | change                                                     | outcome                        |
      | 5% + 0.30 USD                          | 20.00 USD | the tenant re-prices the offering at 15.00 GBP             | refused, naming the offering   |
      | 5% + 0.30 USD                          | 20.00 USD | the tenant re-prices the offering at 15.00 USD             | accepted                       |
      | 5% + 0.30 USD                          | 20.00 USD | the tenant adds an offering at 15.00 GBP                   | refused                        |
      | 5% + 0.30 USD, or + 0.25 EUR in EUR    | 20.00 USD | the tenant adds an offering at 15.00 EUR                   | accepted                       |
      | 5% + 0.30 USD, or + 0.25 EUR in EUR    | 20.00 USD | the tenant re-prices the offering at 15.00 EUR             | accepted                       |

  Scenario Outline: A quote names the policy that priced it
    Given a tenant whose service fee is 5% + 0.30 USD
    And it sells an offering at 20.00 USD
    And <history>
    When a customer asks what one seat of the offering costs
    Then the quote names <policy>, version <version>
    And the quote shows a service fee of <service fee>

    Examples:
      | history                                                        | policy                | version | service fee |
      | the platform has not changed the fee since                     | the tenant's policy   | 1       | 1.30 USD    |
      | the platform has set the tenant's fee to 10%                   | the tenant's policy   | 2       | 2.00 USD    |
      | the platform has set the offering's fee to 8%                  | the offering's policy | 1       | 1.60 USD    |
      | the platform has set the offering's fee to 8%, then to 6%      | the offering's policy | 2       | 1.20 USD    |
      | the platform has set the offering's fee to 8%, then ended it   | the tenant's policy   | 1       | 1.30 USD    |
