"""Idempotent POSTs (IETF httpapi `Idempotency-Key` draft): a retry gets the first answer.

`keys` is the domain (what a key means, the store port), `models` and `repository` its table
and SQL, `http` the header and the replayed response, `purge` the cleanup of expired keys.
"""
