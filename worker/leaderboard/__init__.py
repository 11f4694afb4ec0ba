"""The leaderboard consumer: `python -m worker.leaderboard` (see consumer.py)."""
