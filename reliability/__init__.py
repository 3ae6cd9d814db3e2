"""Faults, soak and a cluster (issue 19): the services the fault tests and the long runs
start for themselves (``services``), the load balancer (``balancer``), the workload
(``workload``), ``python -m reliability.soak`` and ``python -m reliability.cluster``.

Here rather than under bench/: these runs give a verdict (they exit non-zero on a lost
write or a 5xx other than 503), and tests/reliability imports the same service starters,
while bench/ holds scripts that print figures and are not imported by the tests."""
