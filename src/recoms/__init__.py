"""recoms: self-hostable product recommendations for online shops and their mobile apps."""

__version__ = "0.1.0"
