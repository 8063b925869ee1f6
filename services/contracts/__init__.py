"""Contracts shared by the services: document schemas that travel between them."""
