"""eostation: a self-hosted Earth-observation processing platform."""

__version__ = "0.1.0"
