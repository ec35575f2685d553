"""The portal's own date and time formats (``FORMAT_MODULE_PATH``), over Django's per
language: only what differs is set here, the rest is Django's.

- English: 24-hour times ("Nov. 20, 2026, 17:00"), as the cutoffs, pickups and the
  programme's rules write them, and so no "p.m." ends a sentence with a doubled period.
- Vietnamese: a date without Django's leading "Ngày" ("20 tháng 11 năm 2026"): the
  sentences say "ngày %(day)s" themselves, and a capital "Ngày" mid-sentence read wrong.
  A moment says "ngày" after its time ("18:00 ngày 24 tháng 12 năm 2026"), so the
  sentences that insert one ("lúc %(moment)s", "đến %(until)s") never say it.
- Every language: a short day and month (``MONTH_DAY_FORMAT``) for the trend charts' date
  axis (Vietnamese "6/11", as a short date is written there).
"""
