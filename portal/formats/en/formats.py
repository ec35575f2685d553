# English formats with 24-hour times (portal/formats/__init__.py says why).
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "N j, Y, H:i"
SHORT_DATETIME_FORMAT = "m/d/Y H:i"
# The trend charts' date ticks: a short day and month.
MONTH_DAY_FORMAT = "N j"
