"""Test support per cache option; the project keeps the module of the cache it was made for."""
