"""Two gunicorn nodes behind the balancer on one PostgreSQL and Redis of their own
(reliability.cluster, what ``make cluster`` runs at length): the checks that they act as
one system, and a short load through the balancer while one node is killed, after which
every acknowledged write is in the ledger exactly once."""

from __future__ import annotations

import threading
import time

import pytest

from reliability import cluster, services, workload
from reliability.stack import PASSWORD, Stack
from tests.conftest import REQUIRE_SERVICES

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def nodes():
    reason = services.missing()
    if reason:
        if REQUIRE_SERVICES:
            pytest.fail(f"{reason}; IDP_TEST_REQUIRE_SERVICES=1 forbids skipping")
        pytest.skip(reason)
    with Stack(nodes=2, workers=1, threads=4, users=2) as stack:
        stack.flask("users", "create", "--email", cluster.LIMITED, "--password", PASSWORD,
                    "--verified")  # fmt: skip
        yield stack


@pytest.mark.parametrize("check", cluster.CHECKS, ids=lambda check: check.__name__)
def test_the_nodes_behave_as_one(nodes, check):
    assert check(nodes)


def test_killing_a_node_mid_load_loses_no_acknowledged_write(nodes):
    record = workload.Record()
    seconds = 12

    def kill():
        time.sleep(seconds / 3)
        start = time.monotonic()
        nodes.kill_node(1)
        record.windows.append(("node 1 SIGKILL", start, start + 3))

    killer = threading.Thread(target=kill, daemon=True)
    record.started = time.monotonic()
    killer.start()
    clients = workload.run_clients(nodes.url, nodes.shop, nodes.users, 8, seconds, record)
    killer.join(30)
    audit = nodes.audit()
    problems = workload.verdict(record, clients, audit)
    assert problems == [], workload.report(record, problems, audit, [])
    assert record.consumes, "no consume was acknowledged: the load did not run"
    nodes.start_node(1)
