"""`python -m broadcaster.cli ...`: the same as the `broadcaster` command."""

from broadcaster.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    main()
