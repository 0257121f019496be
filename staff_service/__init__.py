"""The staff service: the HTTP API and the console staff and partner systems use.

It assembles the core (``careflow``), like the CLI, the worker and the dev stack: nothing in
the core imports it. Build the app with :func:`staff_service.app.create_app`; serve it with
:func:`staff_service.server.serve` or :func:`staff_service.server.run_staff_service`.
Importing this package does nothing else.
"""

__all__: list[str] = []
