"""Logging helpers named in ``LOGGING`` (portal/settings.py)."""

from __future__ import annotations

import logging


class ForbiddenWithoutTraceback(logging.Filter):
    """A 403 is logged as one line: Django's ``django.request`` logs each refused request
    with the PermissionDenied's traceback, which says nothing the line does not (the view
    raised it on purpose) and buries real errors. Other records pass unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
