"""Celery workers: the send task, dispatch and the ticker. Start with `broadcaster worker`."""
