"""Build shim: the package metadata lives in pyproject.toml's ``[project]`` table."""

from setuptools import setup

setup()
