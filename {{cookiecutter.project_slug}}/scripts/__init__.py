"""Developer scripts (not shipped in the image)."""
