@holds
Feature: Seat holds that end, and payments that arrive late
  As a business selling a limited number of seats
  I want seats held for a customer who does not pay to go back on sale, and a late payment
  never to overbook a slot or keep money for seats the customer does not have
  So that unpaid bookings never block a slot and every customer is treated fairly

  Background:
    Given a tenant "lake-kayaks" that can take charges, with fee policy "5% + 0.30 USD" borne by the customer
    And an offering priced at 20.00 USD with a slot of 4 seats
    And a customer has checked out 2 seats

  Scenario Outline: A hold that lapses unpaid gives the seats back
    When <minutes> minutes pass and the hold sweeper runs
    Then the booking is "<status>"
    And the slot has <left> seats available

    Examples:
      | minutes | status          | left |
      | 10      | pending payment | 2    |
      | 29      | pending payment | 2    |
      | 31      | expired         | 4    |
      | 300     | expired         | 4    |

  Scenario: A customer whose hold lapsed can no longer pay
    When 31 minutes pass and the hold sweeper runs
    Then the hosted checkout page no longer takes a payment

  Scenario: A payment whose webhook was lost is confirmed by the sweeper, never expired
    Given Stripe's webhooks are not arriving
    When the customer pays on the hosted checkout page
    And 31 minutes pass and the hold sweeper runs
    Then the booking is "confirmed"
    And the slot has 2 seats available

  Scenario Outline: A payment recorded after its hold was released
    Given Stripe's webhooks are not arriving
    And the customer pays on the hosted checkout page
    And the booking's hold is released before the payment is recorded
    And other customers take <taken> seats of the slot
    When Stripe's webhooks arrive again
    Then the booking is "<status>"
    And the customer got <refund> back
    And the slot has <left> seats available

    Examples:
      | taken | status    | refund    | left |
      | 0     | confirmed | 0.00 USD  | 2    |
      | 2     | confirmed | 0.00 USD  | 0    |
      | 3     | cancelled | 42.30 USD | 1    |
      | 4     | cancelled | 42.30 USD | 0    |
