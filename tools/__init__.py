"""Development tooling that is not part of the product (import-linter contracts)."""
