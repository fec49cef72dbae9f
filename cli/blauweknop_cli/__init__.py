"""Command-line interface: `blauweknop` and `rodeknop`."""
