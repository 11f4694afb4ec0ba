"""A short `make fuzz` in every `make test`: schemathesis against a live stack.

The same campaign as `make fuzz` (scripts/fuzz.py: every check, every phase, the same
fixed seed), with fewer test cases per operation: a few hundred requests.
"""

from __future__ import annotations

from scripts import fuzz

EXAMPLES_PER_OPERATION = 10


def test_a_short_campaign_finds_no_server_error_and_no_failure(settings, tmp_path):
    base_url, started = fuzz.start_stack(settings, tmp_path)
    try:
        seeded = fuzz.seed(base_url)
        outcome = fuzz.campaign(base_url, started[-1], seeded, tmp_path, EXAMPLES_PER_OPERATION)
    finally:
        fuzz.stop_stack(started)
    # schemathesis's own report is the message: failures, how to replay them, its summary
    assert outcome.ok, f"{outcome.summary()}\n{outcome.output}"
    assert outcome.requests >= 200, outcome.summary()
