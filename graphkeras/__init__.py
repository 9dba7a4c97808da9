"""graphkeras: the Keras API, compiled to native CPU code."""

__version__ = "0.1.0"
