@checkout
Feature: What a customer sees of the money
  As a platform showing a business's offerings to its customers
  I want to show the customer's total before checkout, and only the customer's side of the money
  So that customers know what they will pay and never see what the business and the platform share

  Scenario Outline: The customer is quoted the total before checking out, and pays exactly that
    Given a tenant "river-yoga" that can take charges, with fee policy "<fee policy>" borne by the <bearer>
    And an offering priced at <price> with a slot of 10 seats
    When a customer asks what <seats> seats would cost
    Then the customer is quoted a subtotal of <subtotal>, a service fee of <service fee> and a total of <total>
    And the quote shows nothing of what the business receives or the platform keeps
    When a customer checks out <seats> seats
    Then the customer total is <total>

    Examples:
      | fee policy    | bearer   | price     | seats | subtotal  | service fee | total     |
      | 5% + 0.30 USD | customer | 20.00 USD | 2     | 40.00 USD | 2.30 USD    | 42.30 USD |
      | 5% + 0.30 USD | tenant   | 20.00 USD | 2     | 40.00 USD | 0.00 USD    | 40.00 USD |
      | 10% + 0 JPY   | customer | 1500 JPY  | 3     | 4500 JPY  | 450 JPY     | 4950 JPY  |

  Scenario Outline: The customer's view of a paid booking shows only the customer's side
    Given a tenant "river-yoga" that can take charges, with fee policy "<fee policy>" borne by the <bearer>
    And an offering priced at <price> with a slot of 10 seats
    When a customer checks out <seats> seats
    And the customer pays on the hosted checkout page
    Then the customer's booking shows a total of <total>
    And the customer's booking shows nothing of what the business receives or the platform keeps
    And the business's offerings, as customers see them, show no fee policy

    Examples:
      | fee policy    | bearer   | price     | seats | total     |
      | 5% + 0.30 USD | customer | 20.00 USD | 2     | 42.30 USD |
      | 5% + 0.30 USD | tenant   | 20.00 USD | 2     | 40.00 USD |
