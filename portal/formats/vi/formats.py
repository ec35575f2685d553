# Vietnamese dates without Django's leading "Ngày" (portal/formats/__init__.py says why); a
# moment says "ngày" itself, after its time ("18:00 ngày 24 tháng 12 năm 2026").
DATE_FORMAT = r"j \t\há\n\g n \nă\m Y"
DATETIME_FORMAT = r"H:i \n\g\à\y j \t\há\n\g n \nă\m Y"
# The trend charts' date ticks: day/month as Vietnamese writes a short date ("6/11"); the
# words ("6 tháng 11") ran into each other on a card's narrow axis.
MONTH_DAY_FORMAT = "j/n"
