"""Tax: a provider interface with a built-in rate-table provider."""
