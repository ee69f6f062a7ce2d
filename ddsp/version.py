"""Version of the ddsp package."""

__version__ = '4.0.0.dev0'
