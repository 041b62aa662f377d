"""The suite in two lanes, and the time of each slow test and lane at the end of the run.

``./run test`` runs pytest with ``-n 2 --dist loadgroup`` (pytest-xdist): every lab test goes
to the xdist group ``lab``, followed there by the few Molecule scenarios of
LAB_LANE_SCENARIOS, and the other scenarios to the group ``molecule``. A group runs whole
on one worker, so each lane runs one scenario at a time (each fills a lane with its
containers and ansible round trips; their names, networks and published ports differ, so
two lanes never clash) and the lab test modules bring their lab up once, as in a run
without workers; the two groups run at the same time, each on its worker, and the other
tests go to whichever worker is free. Without ``-n`` the groups change nothing.

pytest-xdist 3.8 tells its controller a test's group by appending it to the test's id
(``...@lab``) during the worker's collection, but pytest 9.2 ignores the field it writes
(pytest-xdist issue #1386): the groups would be silently split between workers. The
plugin below appends the group itself where that happened (a test of the suite checks the
groups really hold).

A distribution that splits a module between workers (``--dist load``, ``worksteal``,
``each``) would bring the same lab up twice at once: it is refused.

The table at the end lists the time of each Molecule scenario and lab test (setup, call and
teardown added up: a lab's bring-up sits in a fixture's setup) with its lane, then each
lane's wall time and the whole run's, so CI's budget (60 of its 90 minutes, on 2 cores) can
be followed as roles are added."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import pytest
from _pytest.nodeid import NodeId

#: Marker of the slow tests -> the xdist group (one worker) they all run in.
GROUPS = {"molecule": "molecule", "lab": "lab"}
#: Distributions that keep each group (or at least each module) on one worker.
SAFE_DISTRIBUTIONS = ("no", "loadgroup", "loadscope", "loadfile")
BUDGET_MINUTES = 60
#: The test report's user property that names a slow test's group.
PROPERTY = "lane_group"


def check_distribution(config: pytest.Config) -> None:
    """Refuse a distribution that would split the lab's tests (or the scenarios) between
    workers: two workers would each bring the same lab up at once."""
    dist = config.getoption("dist", "no")
    if dist not in SAFE_DISTRIBUTIONS and not config.getoption("collectonly"):
        raise pytest.UsageError(
            f"--dist {dist} splits the lab tests and Molecule scenarios between workers "
            "(two bring-ups of one lab at once): use --dist loadgroup, as ./run test does, "
            "or -n 0"
        )


#: Molecule scenarios that run in the lab's lane, after the lab test modules, so that the two
#: lanes take about as long (one after the other, on 2 cores, the suite of 26 Nov: the lab's
#: lane 38 min with test_lab.py, the other scenarios' 43 min; test_prodlike.py (toolkit
#: init's environment on the lab's machines, provisioned from scratch) 14.7 min; scenarios
#: baseline 11.2, directory 4.4, log_collector 3.4, mail_server 7.8, vpn_gateway 6.6,
#: collaboration 12.9, backup 4.8, videoconference 7.6 min). test_prodlike.py joined the
#: lab's lane and backup left it for the other: about 48 and 48 min (53 and 43 without).
#: Then six scenarios converged with Mitogen (videoconference 4.9, backup 8.3 and
#: collaboration 12.9 min beside a lab's provisioning): log_collector left the lab's lane.
#: The suite of 27 Nov (one after the other, a slower machine): the lab's lane 61.7 min with
#: two lab provisionings (test_lab.py's 17.5 min, the environment's 20.3 min), the other
#: 62.7 min. The lab tests then shared one provisioning (lab_environment.py): about 44 min
#: in the lab's lane, so backup (9.3 min) joined it: about 53 and 53 min.
LAB_LANE_SCENARIOS = frozenset({"mail_server-default", "backup-default"})


def group_of(item: pytest.Item) -> str | None:
    """The xdist group of a test: that of its slow marker, else none (any worker); the
    scenarios of LAB_LANE_SCENARIOS go to the lab's group."""
    group = next((g for m, g in GROUPS.items() if item.get_closest_marker(m)), None)
    callspec = getattr(item, "callspec", None)
    if group == GROUPS["molecule"] and callspec is not None and callspec.id in LAB_LANE_SCENARIOS:
        return GROUPS["lab"]
    return group


def _minutes(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes:3d} min {secs:02d} s"


def _display(nodeid: str) -> str:
    """A test's id without the ``@group`` suffix that xdist's loadgroup adds to it."""
    for group in GROUPS.values():
        nodeid = nodeid.removesuffix(f"@{group}")
    return nodeid


def _lane(report: pytest.TestReport) -> str:
    """The worker a report comes from (``gw0``, ``gw1``), ``main`` without workers."""
    node = getattr(report, "node", None)
    gateway = getattr(node, "gateway", None)
    return str(getattr(gateway, "id", "main"))


@dataclass
class _Timing:
    lane: str
    outcome: str = "passed"
    seconds: float = 0.0


@dataclass
class _Lane:
    first: float = math.inf
    last: float = 0.0
    slow: float = 0.0
    other: float = 0.0


class GroupIds:
    """After pytest-xdist's own hook, in a worker of ``--dist loadgroup``: every grouped
    test's id ends with ``@<group>``, which the controller's scheduler reads."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        if not getattr(config.option, "loadgroup", False):
            return
        for item in items:
            group = group_of(item)
            if group is not None and not item.nodeid.endswith(f"@{group}"):
                item._id = NodeId.parse(f"{item.nodeid}@{group}")


class Lanes:
    """The plugin: groups the slow tests (where they are collected: in each worker) and
    times them and the lanes (where the reports arrive: the controller, or the only
    process without workers)."""

    def __init__(self, config: pytest.Config) -> None:
        self.worker = hasattr(config, "workerinput")
        self.grouping = config.pluginmanager.has_plugin("xdist")
        self.started = time.time()
        self.slow: dict[str, _Timing] = {}
        self.lanes: dict[str, _Lane] = {}

    # before xdist's own hook, which reads the groups to suffix the test ids with them
    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            group = group_of(item)
            if group is None:
                continue
            # the reports carry it to the controller (their keywords also hold parameter
            # ids: a test parametrized with "lab" is no lab test)
            item.user_properties.append((PROPERTY, group))
            if self.grouping:
                item.add_marker(pytest.mark.xdist_group(group))

    def pytest_report_collectionfinish(self, items: list[pytest.Item]) -> list[str]:
        """How the selected tests split into lanes (shown by a run without workers, e.g.
        with --collect-only; a worker's own collection is not shown)."""
        counts: dict[str, int] = {}
        for item in items:
            group = group_of(item) or ""
            counts[group] = counts.get(group, 0) + 1
        if not set(counts) - {""}:
            return []
        groups = "; ".join(
            f"{g} group: {n} tests on one worker" for g, n in sorted(counts.items()) if g
        )
        return [f"lanes (-n 2 --dist loadgroup): {groups}; {counts.get('', 0)} others on either"]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.worker:
            return
        lane = self.lanes.setdefault(_lane(report), _Lane())
        if report.start > 0:  # 0: a report xdist made up for a test whose worker crashed
            lane.first = min(lane.first, report.start)
            lane.last = max(lane.last, report.stop)
        if PROPERTY not in dict(report.user_properties):
            lane.other += report.duration
            return
        lane.slow += report.duration
        timing = self.slow.setdefault(_display(report.nodeid), _Timing(_lane(report)))
        timing.seconds += report.duration
        if report.outcome != "passed" and timing.outcome == "passed":
            timing.outcome = report.outcome

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.worker:
            return
        write = terminalreporter.write_line
        if self.slow:
            terminalreporter.section("time of each Molecule scenario and lab test")
            width = max(len(n) for n in self.slow)
            for name, t in self.slow.items():
                write(f"{name:<{width}}  {t.lane:<4}  {t.outcome:<7} {_minutes(t.seconds)}")
            total = sum(t.seconds for t in self.slow.values())
            write(f"{'total (one after the other)':<{width}}  {'':<4}  {'':<7} {_minutes(total)}")
        if not self.lanes or (not self.slow and len(self.lanes) < 2):
            return
        terminalreporter.section("time of each lane")
        for name, lane in sorted(self.lanes.items()):
            if lane.first > lane.last:
                continue
            write(
                f"lane {name}: {_minutes(lane.last - lane.first)} from its first test to its "
                f"last (Molecule and lab {_minutes(lane.slow)}, other tests "
                f"{_minutes(lane.other)})"
            )
        elapsed = time.time() - self.started
        write(f"whole run: {_minutes(elapsed)} (CI's budget: {BUDGET_MINUTES} min)")
