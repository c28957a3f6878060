"""The HTTP edge: campaign API, suppression list, health and the Replai webhook (FastAPI).

Run it with `uvicorn broadcaster.web.app:create_app --factory`. Only this package and
`workers/` import frameworks; the core (`broadcaster/*.py`) never imports this package.
"""

from .app import create_app

__all__ = ["create_app"]
