"""The engine: settings, run specifications, the Cerebro builder and results."""
