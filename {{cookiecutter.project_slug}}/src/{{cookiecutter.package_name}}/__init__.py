"""The service: API, domain and adapters (see README.md for the map)."""
