"""The migrations build exactly the schema the models describe (alembic upgrade head)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shared.models import Base

pytestmark = pytest.mark.integration


def test_the_migrated_database_matches_the_models(engine):
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []
