"""hostwatch: from a reported URL to the party that can remove it, and how fast it did."""

__version__ = "0.1.0"
