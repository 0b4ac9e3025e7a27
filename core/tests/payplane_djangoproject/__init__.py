"""A real Django project for the tests of ``payplane.contrib.django``.

Its settings read the databases from the environment (``payplane_djangokit.setup``
sets it), so worker processes spawned by a test configure the same project.
"""
