"""Test support per broker; the project keeps the module of the broker it was made for."""
