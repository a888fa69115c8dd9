"""Date formats for every page Django renders a datetime on by itself (the admin's lists and
read-only fields): the same words as portal.lib.display.format_monaco_datetime — "3 Dec 2026, 14:05
(Monaco time, CET)" — in each language, so staff and customers read one format. TIME_ZONE is
Europe/Monaco, so these are Monaco times; T names the zone (CET / CEST). Letters of the literal
text are escaped (a backslash each), as Django's date format requires."""
