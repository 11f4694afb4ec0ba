"""Leaderboards: pure ranking rules, the Redis board, its rebuild from PostgreSQL."""
