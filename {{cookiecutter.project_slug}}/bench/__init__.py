"""Baselines for `make bench`: C, a raw ASGI app, and P, a bare FastAPI app with the same routes."""
