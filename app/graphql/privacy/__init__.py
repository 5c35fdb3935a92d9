"""GraphQL of privacy: data exports and erasure of the account."""
