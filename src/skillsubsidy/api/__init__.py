"""The REST API (FastAPI, ``/api/v1``): a thin, typed edge over the services."""
