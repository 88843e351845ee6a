"""The package version, kept in one place for the build (pyproject.toml) and the package."""

__version__ = "2.1.0"
