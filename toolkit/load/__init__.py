"""``toolkit load``: Locust-driven load tests of the platforms with simulated teleworkers
(A20). Modules that import Locust (mail, runner, run, worker) are loaded only by the run
process and its workers: Locust patches its process for gevent."""
