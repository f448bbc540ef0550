"""The migrations form one line: branches developed in parallel that each chained a new
revision after the same parent leave two heads, and every database then refuses to migrate
("Multiple head revisions are present")."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from adapters.sql.migrations import alembic_config


def test_the_migrations_have_one_head_and_no_branch() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert len(scripts.get_heads()) == 1, scripts.get_heads()
    parents = [script.down_revision for script in scripts.walk_revisions()]
    assert len(parents) == len(set(parents)), "two revisions revise the same parent"


def test_each_migration_names_its_parent_in_its_file_name_order() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    for script in scripts.walk_revisions():
        if script.down_revision is not None:
            assert str(script.down_revision) < script.revision, script.path
