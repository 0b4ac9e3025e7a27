"""``payplane_inbox``: the ``payplane inbox`` commands, on the project's inbox."""
