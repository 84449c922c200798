import pytest

from .stack import running_stack


@pytest.fixture(scope="module")
async def stack(infra):
    async with running_stack(infra) as s:
        yield s
