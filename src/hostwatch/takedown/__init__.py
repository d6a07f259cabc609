"""The notice-and-takedown workflow: cases, messages, escalation, liveness checks, scheduling."""
