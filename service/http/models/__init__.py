"""Every request and response model of the HTTP API: Footnote's own routes (api.py) and the OpenAI ones."""
