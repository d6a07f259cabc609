"""The server-rendered portal: Jinja2 templates with autoescape, no JavaScript at all."""
