"""Server-rendered pages in Chinese (Jinja2 + htmx) over the same services as the API."""
