"""The built-in provider catalogue, grouped by verifier family. Each class is mostly data.

They register under the `hookgate.providers` entry-point group like any plugin (pyproject.toml).
"""
