"""The ``cascade`` command line: one module per subcommand, each a thin wrapper over the library."""
