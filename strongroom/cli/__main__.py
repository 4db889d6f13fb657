"""``python -m strongroom.cli``."""

from strongroom.cli import main

main()
