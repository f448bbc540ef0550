@checkout
Feature: Checkout through the HTTP API
  As a customer of a business on the platform
  I want to hold seats and pay for them on a hosted checkout page
  So that I get my seats and nobody else can take them while I pay

  Background:
    Given a tenant "river-yoga" that can take charges, with fee policy "5% + 0.30 USD" borne by the customer

  Scenario Outline: A customer checks out seats of a slot
    Given an offering priced at <price> with a slot of <capacity> seats
    And <taken> seats of the slot are already held by other customers
    When a customer checks out <seats> seats
    Then the checkout is <outcome>
    And the customer total is <total>
    And the slot has <left> seats available

    Examples:
      | price     | capacity | taken | seats | outcome                                  | total     | left |
      | 20.00 USD | 10       | 0     | 2     | accepted                                 | 42.30 USD | 8    |
      | 20.00 USD | 3        | 1     | 2     | accepted                                 | 42.30 USD | 0    |
      | 20.00 USD | 3        | 2     | 2     | refused: not enough seats                | none      | 1    |
      | 20.00 USD | 1        | 1     | 1     | refused: not enough seats                | none      | 0    |

  Scenario Outline: One checkout takes at most half a slot and 10 seats, unless the offering allows more
    Nobody holds every seat of a slot with one anonymous checkout. An offering with no
    limit of its own sells at most half of a slot's seats (rounded up) per booking, and
    never more than the platform's default of 10; a business that sells whole slots at
    once sets its own limit on the offering.

    Given an offering priced at 20.00 USD with a slot of <capacity> seats
    And the offering sells at most <limit> seats per booking
    When a customer checks out <seats> seats
    Then the checkout is <outcome>
    And the slot has <left> seats available

    Examples:
      | capacity | limit         | seats | outcome                               | left |
      | 30       | no own number | 30    | refused: too many seats for a booking | 30   |
      | 30       | no own number | 11    | refused: too many seats for a booking | 30   |
      | 30       | no own number | 10    | accepted                              | 20   |
      | 10       | no own number | 10    | refused: too many seats for a booking | 10   |
      | 10       | no own number | 6     | refused: too many seats for a booking | 10   |
      | 10       | no own number | 5     | accepted                              | 5    |
      | 8        | no own number | 5     | refused: too many seats for a booking | 8    |
      | 8        | no own number | 4     | accepted                              | 4    |
      | 1        | no own number | 1     | accepted                              | 0    |
      | 8        | 8             | 8     | accepted                              | 0    |
      | 30       | 30            | 30    | accepted                              | 0    |
      | 30       | 4             | 5     | refused: too many seats for a booking | 30   |

  Scenario Outline: One connection cannot hold a whole slot by checking out again
    A hold costs nothing while it lasts, so what one connection puts on hold of a slot
    within a hold's length is at most what one booking may take, whatever names and
    emails it gives. Other customers still get the rest.

    Given an offering priced at 20.00 USD with a slot of <capacity> seats
    And the offering sells at most <limit> seats per booking
    When a customer checks out <first> seats
    And a customer checks out <second> seats
    Then the last checkout is <outcome>
    And the slot has <left> seats available

    Examples:
      | capacity | limit         | first | second | outcome                                          | left |
      | 10       | no own number | 5     | 5      | refused: too many seats held from one connection | 5    |
      | 10       | no own number | 5     | 1      | refused: too many seats held from one connection | 5    |
      | 10       | no own number | 4     | 1      | accepted                                         | 5    |
      | 10       | 10            | 5     | 5      | accepted                                         | 0    |

  Scenario: A checkout sent again with the same retry key is answered once
    A client that lost the answer sends the same checkout again under the same retry key,
    and gets the first answer back.

    Given an offering priced at 20.00 USD with a slot of 5 seats
    When a customer checks out 2 seats with retry key "order-42"
    And the customer checks out 2 seats again with retry key "order-42"
    Then both answers name the same booking
    And the slot has 3 seats available

  Scenario: The same retry key on another checkout is refused
    Given an offering priced at 20.00 USD with a slot of 5 seats
    When a customer checks out 2 seats with retry key "order-43"
    And the customer checks out 1 seats again with retry key "order-43"
    Then the last checkout is refused: the retry key was used for another checkout
    And the slot has 3 seats available

  Scenario: A tenant that has not finished Stripe onboarding cannot sell
    Given a tenant "new-studio" that has not onboarded, with an offering and a slot
    When a customer checks out 1 seats at "new-studio"
    Then the checkout is refused: the business cannot take payments yet
