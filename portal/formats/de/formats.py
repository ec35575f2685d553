# German: only the trend charts' date ticks differ from Django, a short day and month.
MONTH_DAY_FORMAT = "j. M"
