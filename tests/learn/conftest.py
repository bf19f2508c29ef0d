"""Fresh workspaces for the learn tests: the reference solutions, or untouched."""
import pytest

from microattn.learn import Workspace


@pytest.fixture
def solved(tmp_path):
    return Workspace.create(tmp_path / "solved", solved=True)


@pytest.fixture
def untouched(tmp_path):
    return Workspace.create(tmp_path / "mywork")
