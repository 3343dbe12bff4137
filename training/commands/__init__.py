"""The command line: one module per command (its options and ``run``), plus shared options."""
