"""A real Django project for the tests of ``payplane.contrib.django``.

Its settings read the databases from the environment, which ``payplane_djangokit.setup``
fills once per test process (a process spawned by a test calls ``setup()`` too, and
finds the same databases).
"""
