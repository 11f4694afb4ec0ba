"""Code web and worker share: settings, database, models, the quiz rules and Redis keys."""
