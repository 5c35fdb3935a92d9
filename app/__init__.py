"""Florin: a GraphQL backend for personal-finance apps."""

__version__ = "0.1.0"
