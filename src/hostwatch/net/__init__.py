"""Internet reference data: routing, AS organisations, RIR statistics, WHOIS/RDAP, DNS, PSL."""
