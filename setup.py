"""Package metadata for cloudsigma; build settings live in pyproject.toml."""

from setuptools import find_packages, setup

with open("cloudsigma/version.py", encoding="utf-8") as version_file:
    namespace: dict = {}
    exec(version_file.read(), namespace)

with open("README.md", encoding="utf-8") as readme:
    long_description = readme.read()

setup(
    name="cloudsigma",
    version=namespace["__version__"],
    description="Python SDK for the CloudSigma API 2.0, with a local emulator of the API",
    long_description=long_description,
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    python_requires=">=3.10",
    packages=find_packages(include=["cloudsigma", "cloudsigma.*"]),
    package_data={"cloudsigma": ["py.typed"], "cloudsigma.emulator": ["data/*.json"]},
    install_requires=[
        "requests>=2.28",
        "websocket-client>=1.5",
        "pyserial>=3.5",
        "simplejson>=3.17",
    ],
    extras_require={
        "emulator": ["aiohttp>=3.9", "trustme>=1.1"],
        "cli": ["tqdm>=4.60"],
        "test": [
            "aiohttp>=3.9",
            "tqdm>=4.60",
            "pytest>=7.4",
            "responses>=0.23",
            "hypothesis>=6.80",
            "trustme>=1.1",
            "ruff>=0.4",
        ],
    },
    entry_points={
        "console_scripts": [
            "cloudsigma=cloudsigma.cli:main",
            "cloudsigma-emulator=cloudsigma.emulator.__main__:main",
        ],
        "pytest11": ["cloudsigma=cloudsigma.pytest_plugin"],
    },
    classifiers=[
        "License :: OSI Approved :: BSD License",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Typing :: Typed",
    ],
)
