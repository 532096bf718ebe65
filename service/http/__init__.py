"""The HTTP API: the FastAPI app, its routes, models, keys, limits and middleware, and the widget's files."""
