"""pytest plugin (registered through the `pytest11` entry point): the `standin` fixture.

Kept cheap to import: lexi.testing is imported only when a test asks for the fixture.
"""
import pytest


@pytest.fixture
def standin():
    """A running `lexi.testing.StandIn` on 127.0.0.1, closed after the test.

    The test fails at teardown if any request found nothing scripted (or hit a path the stand-in
    does not serve): queue a Reply/Fault for every request the code under test makes. A test that
    provokes such a request on purpose clears `standin.unscripted` after checking it.
    """
    from lexi.testing import StandIn
    with StandIn() as srv:
        yield srv
    if srv.unscripted:
        lines = '\n'.join(f'  - {r.error}' for r in srv.unscripted)
        pytest.fail(f'{len(srv.unscripted)} request(s) to the lexi.testing stand-in found nothing scripted:\n{lines}',
                    pytrace=False)
