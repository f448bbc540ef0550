@bookings
Feature: Seat holds and the booking lifecycle
  As a customer
  I want the seats I am paying for held while I pay, and booked once I have paid
  So that nobody takes them from me and I never pay for a seat that does not exist

  As a tenant
  I want a slot never to hold or book more seats than its capacity
  So that I never have to turn away a customer who paid

  As a platform operator
  I want every booking to move only along the lifecycle, whatever order facts arrive in
  So that a payment event delivered twice, late or out of order never corrupts a booking

  How to read and extend the tables:
  - Statuses (the seats): pending payment, awaiting async payment, confirmed, expired,
    payment failed, cancelled. "partly refunded" is a confirmed booking of which 5.00 USD
    went back: a refund never changes the status, only the payment (unpaid, paid,
    partially refunded, refunded, disputed).
  - Facts a booking can receive: "the payment succeeds", "the payment fails",
    "checkout completes with a delayed payment method", "the hold lapses",
    "the customer cancels", "the tenant cancels", "refund re_1 of 5.00 USD is recorded",
    "checkout session cs_1 is attached". The example booking is 2 seats at 20.00 USD
    with a 10% service fee borne by the customer: the customer paid 44.00 USD.
  - Seat movements on a slot: held, confirmed (held → booked), released from hold,
    booked directly (a payment that arrived after its hold lapsed), released from booking.

  Scenario Outline: Seats move between free, held and booked without exceeding capacity
    Given a slot with capacity <capacity>, <held> seats held and <booked> booked
    When <seats> seats are <movement>
    Then the slot has <held after> seats held, <booked after> booked and <free after> free

    Examples:
      | capacity | held | booked | seats | movement              | held after | booked after | free after |
      | 10       | 0    | 0      | 3     | held                  | 3          | 0            | 7          |
      | 10       | 3    | 5      | 2     | held                  | 5          | 5            | 0          |
      | 10       | 3    | 0      | 3     | confirmed             | 0          | 3            | 7          |
      | 10       | 4    | 2      | 1     | confirmed             | 3          | 3            | 4          |
      | 10       | 4    | 0      | 4     | released from hold    | 0          | 0            | 10         |
      | 10       | 0    | 6      | 4     | booked directly       | 0          | 10           | 0          |
      | 10       | 0    | 6      | 2     | released from booking | 0          | 4            | 6          |
      | 1        | 0    | 0      | 1     | held                  | 1          | 0            | 0          |

  @refusal
  Scenario Outline: Seats that are not there cannot be held, booked or released
    Given a slot with capacity <capacity>, <held> seats held and <booked> booked
    When <seats> seats are <movement>
    Then it is refused: <reason>
    And the slot still has <held> seats held and <booked> booked

    Examples:
      | capacity | held | booked | seats | movement              | reason                  |
      | 10       | 0    | 0      | 11    | held                  | not enough seats        |
      | 10       | 3    | 5      | 3     | held                  | not enough seats        |
      | 10       | 0    | 10     | 1     | held                  | not enough seats        |
      | 4        | 2    | 0      | 3     | booked directly       | not enough seats        |
      | 10       | 2    | 0      | 3     | confirmed             | beyond the slot's seats |
      | 10       | 2    | 0      | 3     | released from hold    | beyond the slot's seats |
      | 10       | 0    | 1      | 2     | released from booking | beyond the slot's seats |
      | 10       | 0    | 0      | 0     | held                  | not a number of seats   |

  Scenario Outline: Every legal transition of the booking lifecycle
    Given a booking that is <from>
    When <fact>
    Then the booking is <to>
    And its seats are <seats>
    And its payment is <payment>

    Examples:
      | from                   | fact                                             | to                     | seats    | payment            |
      | pending payment        | checkout session cs_1 is attached                | pending payment        | held     | unpaid             |
      | pending payment        | the payment succeeds                             | confirmed              | booked   | paid               |
      | pending payment        | checkout completes with a delayed payment method | awaiting async payment | held     | unpaid             |
      | pending payment        | the payment fails                                | payment failed         | released | unpaid             |
      | pending payment        | the hold lapses                                  | expired                | released | unpaid             |
      | awaiting async payment | the hold lapses                                  | expired                | released | unpaid             |
      | awaiting async payment | the payment succeeds                             | confirmed              | booked   | paid               |
      | awaiting async payment | the payment fails                                | payment failed         | released | unpaid             |
      | expired                | the payment succeeds                             | confirmed              | booked   | paid               |
      | confirmed              | the customer cancels                             | cancelled              | released | paid               |
      | confirmed              | the tenant cancels                               | cancelled              | released | paid               |
      | confirmed              | refund re_1 of 5.00 USD is recorded              | confirmed              | booked   | partially refunded |
      | confirmed              | refund re_1 of 44.00 USD is recorded             | confirmed              | booked   | refunded           |
      | partly refunded        | refund re_1 of 5.00 USD is recorded              | confirmed              | booked   | partially refunded |
      | partly refunded        | the tenant cancels                               | cancelled              | released | partially refunded |
      | cancelled              | refund re_1 of 44.00 USD is recorded             | cancelled              | released | refunded           |

  Scenario Outline: Applying the same fact twice changes nothing
    Given a booking that is <from>
    When <fact>
    And the same fact arrives again
    Then the booking is <to>
    And the second arrival changed nothing

    Examples:
      | from                   | fact                                             | to                     |
      | pending payment        | checkout session cs_1 is attached                | pending payment        |
      | pending payment        | the payment succeeds                             | confirmed              |
      | pending payment        | checkout completes with a delayed payment method | awaiting async payment |
      | pending payment        | the payment fails                                | payment failed         |
      | pending payment        | the hold lapses                                  | expired                |
      | awaiting async payment | the hold lapses                                  | expired                |
      | awaiting async payment | the payment succeeds                             | confirmed              |
      | confirmed              | the customer cancels                             | cancelled              |
      | confirmed              | the tenant cancels                               | cancelled              |
      | confirmed              | refund re_1 of 5.00 USD is recorded              | partly refunded        |

  Scenario Outline: A fact the booking already reflects changes nothing
    Given a booking that is <from>
    When <fact>
    Then the booking is still <from>
    And nothing changed

    Examples:
      | from                   | fact                                             |
      | confirmed              | the payment succeeds                             |
      | confirmed              | checkout completes with a delayed payment method |
      | awaiting async payment | checkout completes with a delayed payment method |
      | partly refunded        | the payment succeeds                             |
      | cancelled              | the payment succeeds                             |
      | cancelled              | the customer cancels                             |
      | partly refunded        | refund re_0 of 5.00 USD is recorded              |

  @refusal
  Scenario Outline: A fact that contradicts the booking's status is refused
    Given a booking that is <from>
    When <fact>
    Then it is refused: the booking's state does not allow it
    And the refusal names the status <from>

    Examples:
      | from                   | fact                                             |
      | pending payment        | the customer cancels                             |
      | pending payment        | the tenant cancels                               |
      | pending payment        | refund re_1 of 5.00 USD is recorded              |
      | awaiting async payment | the customer cancels                             |
      | awaiting async payment | refund re_1 of 5.00 USD is recorded              |
      | awaiting async payment | checkout session cs_2 is attached                |
      | expired                | the payment fails                                |
      | expired                | checkout completes with a delayed payment method |
      | expired                | the tenant cancels                               |
      | expired                | refund re_1 of 5.00 USD is recorded              |
      | payment failed         | the payment succeeds                             |
      | payment failed         | checkout completes with a delayed payment method |
      | payment failed         | the hold lapses                                  |
      | payment failed         | the customer cancels                             |
      | confirmed              | the payment fails                                |
      | confirmed              | the hold lapses                                  |
      | confirmed              | checkout session cs_2 is attached                |
      | partly refunded        | the payment fails                                |
      | partly refunded        | the hold lapses                                  |
      | cancelled              | the payment fails                                |
      | cancelled              | the hold lapses                                  |

  @refusal
  Scenario Outline: A refund never takes back more than the customer paid
    Given a booking that is <from>
    When <fact>
    Then it is refused: <reason>

    Examples:
      | from            | fact                                 | reason                       |
      | confirmed       | refund re_1 of 44.01 USD is recorded | more than the customer paid  |
      | partly refunded | refund re_1 of 39.01 USD is recorded | more than the customer paid  |
      | confirmed       | refund re_1 of 5.00 EUR is recorded  | not a refund of this payment |

  Scenario Outline: A hold lasts as long as a Stripe Checkout Session can
    Given the time is 2026-03-01 10:00 UTC
    When seats are held for <duration>
    Then the hold expires at <expires at>

    Examples:
      | duration   | expires at           |
      | 30 minutes | 2026-03-01 10:30 UTC |
      | 45 minutes | 2026-03-01 10:45 UTC |
      | 2 hours    | 2026-03-01 12:00 UTC |
      | 24 hours   | 2026-03-02 10:00 UTC |

  @refusal
  Scenario Outline: A hold shorter than 30 minutes or longer than 24 hours is refused
    Given the time is 2026-03-01 10:00 UTC
    When seats are held for <duration>
    Then it is refused: not a hold the platform allows

    Examples:
      | duration          |
      | 29 minutes        |
      | 0 minutes         |
      | 24 hours 1 minute |
      | 48 hours          |

  Scenario: A hold lapses at its expiry time, not a moment before
    Given a booking that is pending payment, held until 2026-03-01 10:30 UTC
    Then at 2026-03-01 10:29 UTC the hold has not lapsed
    And at 2026-03-01 10:30 UTC the hold has lapsed
