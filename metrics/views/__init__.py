"""The metrics app's pages: the seller's performance (dashboard, defects), their plans of
action, and programme staff's review of those plans."""
