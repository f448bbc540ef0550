@slots
Feature: A business changes how many seats a class has, or cancels it
  As a business
  I want to change the number of seats of a class, or cancel it and refund everyone on it
  So that what customers can buy always matches what I can deliver

  How to read and extend the tables:
  - The class starts in 72 hours and each seat costs 20.00 USD; customers pay a 5% + 0.30 USD
    service fee on top (2 seats: 42.30 USD; 1 seat: 21.30 USD).
  - "unpaid" is how many seats customers are still paying for (their checkout is open);
    "paid" how many seats customers have paid for, in bookings of 1 seat each.
  - A change that would leave fewer seats than the ones taken (unpaid + paid) is refused.

  Background:
    Given a business that can take charges, with a service fee of "5% + 0.30 USD" paid by the customer
    And the business sells a class at 20.00 USD under the cancellation policy "48 h: 0%", starting in 72 hours

  Scenario Outline: The number of seats changes, never below the seats taken
    Given customers are paying for <unpaid> seats and have paid for <paid> seats
    When the business changes the class to <seats> seats
    Then the change is <outcome>
    And the class has <left> seats available

    Examples:
      | unpaid | paid | seats | outcome                            | left |
      | 0      | 0    | 2     | accepted                           | 2    |
      | 1      | 2    | 3     | accepted                           | 0    |
      | 1      | 2    | 2     | refused: the seats are taken       | 1    |
      | 2      | 0    | 10    | accepted                           | 8    |
      | 0      | 4    | 1     | refused: the seats are taken       | 0    |

  Scenario Outline: Cancelling a class ends every booking on it and refunds every payment
    Given customers are paying for <unpaid> seats and have paid for <paid> seats
    When the business cancels the class
    And the business cancels the class again
    Then every paid booking is cancelled and its customer got 21.30 USD back, once
    And every unpaid booking has expired
    And the class sells no more seats

    Examples:
      | unpaid | paid |
      | 0      | 0    |
      | 2      | 0    |
      | 0      | 3    |
      | 1      | 2    |
