"""The package version, kept in one place for setup.py and the package."""

__version__ = "2.1.0"
