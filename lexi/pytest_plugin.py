"""pytest plugin (registered through the `pytest11` entry point): the `standin` fixture.

Kept cheap to import: lexi.testing is imported only when a test asks for the fixture.
"""
import pytest


def _report(srv) -> str:
    "What went wrong on the stand-in, one line per request; '' when nothing did."
    out = []
    if srv.unscripted:
        out.append(f'{len(srv.unscripted)} request(s) to the lexi.testing stand-in found nothing scripted:')
        out += [f'  - {r.error}' for r in srv.unscripted]
    if srv.violations:
        out.append(f'{len(srv.violations)} request(s) to the lexi.testing stand-in broke a provider rule '
                   '(the real provider answers these with HTTP 400):')
        out += [f'  - {r.method} {r.path} ({r.provider}): {r.error}' for r in srv.violations]
    return '\n'.join(out)


@pytest.fixture
def standin():
    """A running `lexi.testing.StandIn` on 127.0.0.1, closed after the test.

    The test fails at teardown if any request found nothing scripted (or hit a path the stand-in
    does not serve), or broke a provider rule (see lexi.testing: the request got the provider's
    HTTP 400). Queue a Reply/Fault for every request the code under test makes, and send valid
    histories. A test that provokes such a request on purpose clears `standin.unscripted` or
    `standin.violations` after checking it; one that must send invalid requests sets
    `standin.strict = False` first.
    """
    from lexi.testing import StandIn
    with StandIn() as srv:
        yield srv
    report = _report(srv)
    if report: pytest.fail(report, pytrace=False)
