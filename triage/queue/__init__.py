"""The queue: open contacts in the caller's lanes, keyset-paged."""
