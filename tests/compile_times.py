"""Where the suite's time goes: JAX's compile and trace time per test, opt in with
`JIRL_TEST_COMPILE_TIMES=1 python -m pytest -q -n auto` (`conftest.py` registers this plugin).

Each xdist worker (or the lone process) sums `jax.monitoring`'s duration events: XLA's
compiles (`/jax/core/compile/backend_compile_duration`; a persistent-cache hit is not one)
and tracing and lowering to StableHLO (`jaxpr_trace_duration`, `jaxpr_to_mlir_module_duration`).
Every report (setup, call, teardown) carries what its phase spent as `user_properties`,
which xdist sends to the controller; the terminal summary adds them up beside the phases'
durations and lists the tests that compiled longest. Programs compiled in a test's
subprocesses (the CLI runs of `test_kill_resume`, `test_devices`, ...) are not seen: their
time counts as the test's own. A trace inside another (a jit called while tracing) counts in
both, so the trace figure is an upper bound.
"""

from __future__ import annotations

import pytest

COMPILE = "/jax/core/compile/backend_compile_duration"
TRACE = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
)

#: Seconds so far in this process: "compile" and "trace" (tracing and lowering).
_totals = {"compile": 0.0, "trace": 0.0}
#: `_totals` when the phase now running began.
_marks = dict(_totals)


def _listen(event: str, seconds: float, **_) -> None:
    if event == COMPILE:
        _totals["compile"] += seconds
    elif event in TRACE:
        _totals["trace"] += seconds


def pytest_configure(config):
    import jax.monitoring

    jax.monitoring.register_event_duration_secs_listener(_listen)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the phase's compile and trace seconds to its report."""
    outcome = yield
    report = outcome.get_result()
    spent = {k: _totals[k] - _marks[k] for k in _totals}
    _marks.update(_totals)
    report.user_properties = [
        *report.user_properties,
        *((f"{k}_seconds", round(v, 3)) for k, v in spent.items()),
    ]


def pytest_terminal_summary(terminalreporter):
    per_test: dict[str, dict[str, float]] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if not hasattr(report, "user_properties") or not hasattr(report, "duration"):
                continue
            row = per_test.setdefault(report.nodeid, {"compile": 0.0, "trace": 0.0, "time": 0.0})
            row["time"] += report.duration
            for name, value in report.user_properties:
                if name in ("compile_seconds", "trace_seconds"):
                    row[name.removesuffix("_seconds")] += value
    if not per_test:
        return
    total = {k: sum(row[k] for row in per_test.values()) for k in ("time", "compile", "trace")}
    write = terminalreporter.write_line
    terminalreporter.section("compile times (JIRL_TEST_COMPILE_TIMES)")
    write(
        f"{len(per_test)} tests, {total['time']:.0f} s in their phases (all workers): "
        f"XLA compiling {total['compile']:.0f} s ({total['compile'] / total['time']:.0%}), "
        f"tracing and lowering {total['trace']:.0f} s ({total['trace'] / total['time']:.0%})"
    )
    write("  time   compile  trace  test (the 25 that compiled longest)")
    top = sorted(per_test.items(), key=lambda kv: -kv[1]["compile"])[:25]
    for nodeid, row in top:
        write(f"{row['time']:6.1f} {row['compile']:8.1f} {row['trace']:6.1f}  {nodeid}")
