"""A simulated hotline year: fictional providers with realistic behaviour, for the demo and tests.

Everything here is labelled simulated: names are invented, hosts live under the reserved
``.example`` domain, and the providers' networks are carved out of 127.0.0.0/8 so that liveness
checks stay on this machine.
"""
