@terms
Feature: Bookings keep the terms they were sold under
  As a customer
  I want the cancellation terms I accepted when I paid to be the ones that apply to me
  So that a business changing its policy later cannot take back what it promised

  As a business
  I want to change my cancellation policy for the bookings still to come
  So that I can adapt my terms without breaking a promise already made

  How to read and extend the tables:
  - "sold under" is the offering's cancellation policy when the first customer paid;
    "changed to" is the policy the business sets afterwards, before the second customer
    pays. A policy reads "48 h: 100%; 24 h: 50%" (cancelled at least 48 hours before the
    start: 100 % back; at least 24 hours: 50 %); "none" means a full refund up to the start.
  - "cancels before start" is how long before the start both customers cancel.
  - Each customer pays 42.30 USD (2 seats at 20.00 USD, plus the 5% + 0.30 USD service fee).
  - A refund of "refused" means the customer can no longer cancel: the time is outside
    every window of the terms they bought under.

  Background:
    Given a business that can take charges, with a service fee of "5% + 0.30 USD" paid by the customer

  Scenario Outline: A cancellation policy changed after a sale applies to new bookings only
    Given the business sells a class at 20.00 USD under the cancellation policy "<sold under>", starting in <cancels before start>
    And a first customer has paid for 2 seats
    When the business changes the cancellation policy to "<changed to>"
    And a second customer pays for 2 seats
    And both customers cancel
    Then the first customer gets <first refund> back
    And the second customer gets <second refund> back

    Examples:
      | sold under            | changed to            | cancels before start | first refund | second refund |
      | 48 h: 100%            | 48 h: 0%              | 72 hours             | 42.30 USD    | 0.00 USD      |
      | 48 h: 100%            | 48 h: 0%              | 30 hours             | refused      | refused       |
      | 48 h: 100%; 24 h: 50% | none                  | 30 hours             | 21.15 USD    | 42.30 USD     |
      | none                  | 48 h: 100%; 24 h: 50% | 30 hours             | 42.30 USD    | 21.15 USD     |
      | none                  | 48 h: 100%            | 30 hours             | 42.30 USD    | refused       |
      | 24 h: 100%            | 72 h: 100%; 2 h: 10%  | 30 hours             | 42.30 USD    | 4.23 USD      |

  Scenario Outline: A customer who leaves an unpaid checkout gives the seats back at once
    Given the business sells a class at 20.00 USD under the cancellation policy "none", starting in 72 hours
    And a customer has started paying for <seats> seats of the 4 in the class
    When <who> gives up the unpaid booking
    Then the booking has expired
    And the class has 4 seats available
    And the customer can no longer pay for it

    Examples:
      | seats | who          |
      | 2     | the customer |
      | 1     | the customer |
      | 2     | the business |
