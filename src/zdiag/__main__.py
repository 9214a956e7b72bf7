"""`python -m zdiag` runs the command line."""

from zdiag.cli import run

if __name__ == "__main__":
    run()
