"""The jobs service: the durable queue's dispatcher, running and storing backtests,
optimisations and walk-forwards, and the pre-checks a search is planned with. Shared by the
REST API and the CLI; it knows neither."""
