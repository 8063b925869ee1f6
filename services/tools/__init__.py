"""Developer tools that are not tests: the migration check, the OpenAPI and settings documents,
the separate drainer process the outbox concurrency test starts."""
