"""The HTML investigation report: view models from findings.json, rendered with jinja2."""
