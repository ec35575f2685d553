# Vietnamese dates without Django's leading "Ngày" (portal/formats/__init__.py says why).
DATE_FORMAT = r"j \t\há\n\g n \nă\m Y"
DATETIME_FORMAT = r"H:i, j \t\há\n\g n \nă\m Y"
# The trend charts' date ticks: a short day and month, lower case mid-axis.
MONTH_DAY_FORMAT = r"j \t\há\n\g n"
