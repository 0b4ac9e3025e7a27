"""``python -m payplane``: the ``payplane`` command line."""

from payplane._cli import main

if __name__ == "__main__":
    main()
