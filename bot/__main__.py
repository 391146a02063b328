"""`python -m bot` runs the `townline` command, for environments without the console script."""

from bot.cli import main

main()
