"""The regulator's side: removal orders, deadlines and compliance, sanctions, the public register.

This layer sits below takedown (it reads cases and checks, and delivers orders through the notice
chain's transport) and above measurement; the web and CLI layers call one function here per
request or command.
"""
