"""The staff console 控制台: server-rendered pages for staff, Chinese first.

Jinja2 templates with plain HTML forms, a stylesheet and a few lines of script served from
this package (nothing from the internet). :func:`console_router` gives the pages;
:func:`mount_console` adds them and the static files to an app.
"""

from staff_service.console.routes import console_router, mount_console

__all__ = ["console_router", "mount_console"]
