"""`python -m zdiag` runs the command line."""

from zdiag.cli import main

if __name__ == "__main__":
    main()
