"""Alembic environment: the URL comes from Settings (DATABASE_URL), or from the caller."""

from alembic import context
from sqlalchemy import create_engine, pool

import shared.models  # noqa: F401  (registers the tables on Base.metadata)
from shared.config import Settings
from shared.db import Base

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    # tests and tools may pass a URL explicitly: config.set_main_option("sqlalchemy.url", …)
    return config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
