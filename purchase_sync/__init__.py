"""purchase-sync: marketplace order exports -> Shanjing supplier purchases, exactly once."""

__version__ = "0.1.0"
