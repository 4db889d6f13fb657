"""Entry points and wiring: settings, CLI, bootstrap."""
