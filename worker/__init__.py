"""Celery workers: scoring, maintenance jobs, and the leaderboard publisher.

`celery -A worker` finds the app in `worker.celery`. Nothing here imports Flask.
"""
