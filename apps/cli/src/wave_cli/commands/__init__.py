"""The `wave` commands, one module per group: each parses its options, calls the application layer
(`wave_app`) with parts from the composition root (`wave_cli.bootstrap`), and renders the result."""
