"""One module per broker the template supports; the project keeps the one it was made for.

`events/broker.py` re-exports it, so the rest of the service never names the technology.
"""
