"""The shop's REST API (``/api/v1/``): token-authenticated reads of conversations, messages, ratings and
the cost ledger, and an agent's writes (a message, closing). docs/integrations.md describes it and
``/api/v1/schema/`` serves its OpenAPI schema."""
