"""`python -m chalicelib.cli COMMAND`: tools for integrators and operators.

Each module in this package that defines `register(subparsers)` adds its own commands, so
a new command is a new file and nothing here changes.
"""
