"""The hosted booking pages: server-rendered HTML for customers (and tenants' onboarding)."""
