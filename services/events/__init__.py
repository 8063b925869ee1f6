"""Events between the services: contracts, the transactional outbox, and the consumer loop."""
