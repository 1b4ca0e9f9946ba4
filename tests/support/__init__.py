"""Helpers shared by the template tests; ``tests/conftest.py`` only declares fixtures over them.

Renders call cookiecutter directly (``project.generate``), not through pytest-cookies: they run
from module- and session-scoped fixtures and from helpers shared by xdist workers, set the
post-gen hook's lock environment around each render, and a rejected answer must fail the test
with cookiecutter's message rather than come back as a result to inspect. What pytest-cookies
adds, a cookiecutter config and replay folder of the tests' own, ``generate`` does itself.
"""
