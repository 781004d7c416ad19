"""The package's version (one place: the metadata and the generated code's headers read it)."""

__version__ = "0.1.0"
