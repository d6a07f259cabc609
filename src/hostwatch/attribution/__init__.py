"""Attribution: for a URL at a time, who hosts it, who resells the space, and whom to notify.

The chain is URL -> host -> IPs -> prefix and origin AS -> AS organisation -> WHOIS allocation
chain -> provider, reseller, country and abuse contact, computed in batches over arrays and
stored as ``Attribution`` rows that name the reference snapshot behind each field.
"""
