"""Bearer tokens: validating callers' tokens, and obtaining our own for calls to other services."""
