import dataclasses
import importlib
import re
import struct
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jirl
from jirl import envs
from jirl.errors import ConfigError
from jirl.files import SEAL, unseal
from jirl.rl import ppo
from jirl.run import NonFiniteError, load_checkpoint, state_template
from jirl.types import Algorithm


def small_ppo():
    return ppo.make(ppo.PPOConfig(num_envs=4, num_steps=16), envs.make("cartpole"))


def test_run_matches_make_train():
    algo = small_ppo()
    result = jirl.run(algo, jax.random.PRNGKey(0), 6, seeds=2, chunk_size=2)
    state, metrics = jax.jit(jax.vmap(jirl.make_train(algo, 6)))(
        jax.random.split(jax.random.PRNGKey(0), 2)
    )
    np.testing.assert_allclose(
        result.metrics["policy_loss"], np.asarray(metrics["policy_loss"]).T, rtol=1e-5, atol=1e-6
    )
    assert result.metrics["policy_loss"].shape == (6, 2)


def test_run_again_on_the_same_algorithm_traces_nothing_again():
    """A notebook's second `jirl.run` of one algorithm, or a run continued from its state,
    compiled everything again (10 s for a small GAIL); its programs are now kept."""
    algo = small_ppo()
    traces = []

    def update(state):
        traces.append(1)  # (Python side effect: runs when JAX traces the update)
        return algo.update(state)

    counted = algo._replace(update=update)
    first = jirl.run(counted, jax.random.PRNGKey(0), 4, seeds=2, chunk_size=2)
    traced = len(traces)
    assert traced >= 1
    again = jirl.run(counted, jax.random.PRNGKey(1), 4, seeds=2, chunk_size=2)
    continued = jirl.run(counted, None, 2, initial_state=first.state, chunk_size=2)
    assert len(traces) == traced
    assert not np.array_equal(first.metrics["policy_loss"], again.metrics["policy_loss"])
    assert continued.metrics["policy_loss"].shape == (2, 2)

    @dataclasses.dataclass
    class Update:  # a dataclass compared by value: no hash, so its programs are not kept
        def __call__(self, state):
            return update(state)

    unhashable = counted._replace(update=Update())
    jirl.run(unhashable, jax.random.PRNGKey(0), 2, seeds=2, chunk_size=2)  # built afresh
    assert len(traces) > traced
    traced = len(traces)
    jirl.clear_programs()  # dropped: the next run traces again
    jirl.run(counted, jax.random.PRNGKey(1), 4, seeds=2, chunk_size=2)
    assert len(traces) > traced


def test_resume_from_checkpoint_is_bit_for_bit(tmp_path):
    algo = small_ppo()
    full = jirl.run(algo, jax.random.PRNGKey(0), 6, seeds=2, chunk_size=2)
    ckpt = tmp_path / "ckpt"
    part = jirl.run(algo, jax.random.PRNGKey(0), 4, seeds=2, chunk_size=2, checkpoint_dir=ckpt)
    (ckpt / ".state.msgpack.jirl-k1ll3d").write_bytes(b"half a checkpoint")  # a write a kill cut
    resumed = jirl.run(
        algo, jax.random.PRNGKey(0), 6, seeds=2, chunk_size=2, checkpoint_dir=ckpt, resume=True
    )
    for a, b in zip(jax.tree.leaves(full.state), jax.tree.leaves(resumed.state), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for k in full.metrics:
        np.testing.assert_array_equal(full.metrics[k], resumed.metrics[k])
    assert (full.updates_run, resumed.updates_run) == (6, 2)  # what each call's wall time covers
    # the stray one removed
    assert sorted(p.name for p in ckpt.iterdir()) == ["metrics.log", "state.msgpack"]
    # the run's timing adds up its sessions (the checkpoint carries the first one's)
    total = resumed.total
    assert total.updates == 6 and part.total.updates == 4
    assert total.wall_seconds == pytest.approx(part.wall_seconds + resumed.wall_seconds)
    assert total.compile_seconds == pytest.approx(part.compile_seconds + resumed.compile_seconds)
    # (between chunks: the first session's checkpoints but the last one's own write)
    assert 0 < total.other_seconds - resumed.other_seconds <= part.other_seconds


@pytest.mark.parametrize("updates", [4, 8])
def test_a_fresh_run_killed_before_its_first_state_leaves_no_other_runs_state(
    tmp_path, monkeypatch, updates
):
    """A fresh run (no `resume`) into a directory that holds another run's checkpoint starts
    the metrics log anew; killed before its own state is written, it used to leave the old
    state beside the new log: resumed, run A's state took run B's metrics for updates 1-4
    without a word (A at 4), or A's checkpoint was refused as damaged (A at 8). Now the old
    state goes first, so the resume finds no checkpoint and starts afresh."""
    run_module = importlib.import_module("jirl.run")  # (`jirl.run` the attribute is the function)
    init = lambda key: {"x": jax.random.normal(key, ())}  # noqa: E731
    algo = Algorithm(init, lambda s: ({"x": s["x"] + 1.0}, {"x": s["x"]}), lambda s, o, k: o)
    ckpt = tmp_path / "ckpt"
    jirl.run(algo, jax.random.PRNGKey(0), updates, chunk_size=4, checkpoint_dir=ckpt)  # run A

    class Killed(BaseException):
        pass

    def killed(*args, **kwargs):  # the kill: after the log's write, before the state's
        raise Killed

    with monkeypatch.context() as m:
        m.setattr(run_module, "atomic_write", killed)
        with pytest.raises(Killed):  # run B, fresh, into A's directory
            jirl.run(algo, jax.random.PRNGKey(1), 8, chunk_size=4, checkpoint_dir=ckpt)
    assert not run_module.has_checkpoint(ckpt)
    resumed = jirl.run(algo, jax.random.PRNGKey(0), 8, chunk_size=4, checkpoint_dir=ckpt,
                       resume=True)  # fmt: skip
    unbroken = jirl.run(algo, jax.random.PRNGKey(0), 8, chunk_size=4)
    np.testing.assert_array_equal(resumed.metrics["x"], unbroken.metrics["x"])
    assert resumed.updates_run == 8


def test_a_typed_key_runs_and_checkpoints_as_the_prngkey_of_its_seed(tmp_path):
    """`jax.random.key(0)` trained, then failed at the first checkpoint (msgpack stores no
    typed key) and left a metrics log behind; it is taken as its data, `PRNGKey(0)`."""
    algo = small_ppo()
    typed = jirl.run(algo, jax.random.key(0), 2, seeds=2, checkpoint_dir=tmp_path / "typed")
    raw = jirl.run(algo, jax.random.PRNGKey(0), 2, seeds=2)
    for a, b in zip(jax.tree.leaves(typed.state), jax.tree.leaves(raw.state), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(ConfigError, match="key is a rbg key, but JAX's default PRNG is"):
        jirl.run(algo, jax.random.key(0, impl="rbg"), 2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_updates": 2.5}, "num_updates must be an integer >= 1, got 2.5"),  # ran 2
        ({"num_updates": 0}, "num_updates must be >= 1, got 0"),  # an empty run
        ({"chunk_size": -4}, "chunk_size must be >= 1, got -4"),  # clamped to 1
        ({"seeds": 2.0}, "seeds must be an integer >= 1, got 2.0"),  # a slice TypeError
        ({"checkpoint_every": True}, "checkpoint_every must be an integer"),
    ],
)
def test_run_refuses_counts_that_are_no_positive_int(kwargs, message):
    algo = small_ppo()
    with pytest.raises(ConfigError, match=re.escape(message)):
        jirl.run(algo, jax.random.PRNGKey(0), **{"num_updates": 2, **kwargs})
    if "num_updates" in kwargs:
        with pytest.raises(ConfigError, match=re.escape(message)):
            jirl.make_train(algo, kwargs["num_updates"])


def test_another_algorithms_checkpoint_does_not_fit_rather_than_is_damaged(tmp_path):
    """(It was called damaged or not a jirl checkpoint: it is whole, of another tree.)"""
    jirl.run(small_ppo(), jax.random.PRNGKey(0), 2, checkpoint_dir=tmp_path)
    init = lambda key: {"x": jax.random.normal(key, ())}  # noqa: E731
    other = Algorithm(init, lambda s: (s, {"x": s["x"]}), lambda s, o, k: o)
    with pytest.raises(ConfigError, match="does not fit this config"):
        jirl.run(other, jax.random.PRNGKey(0), 4, checkpoint_dir=tmp_path, resume=True)


def test_a_checkpoint_with_impossible_contents_is_refused(tmp_path):
    """Fields a hand-edited or foreign file may hold: a negative update count, metrics that are
    not `[update, seeds]` numbers, a string leaf, a leaf turned into a map."""
    from flax import serialization

    algo = small_ppo()
    jirl.run(algo, jax.random.PRNGKey(0), 2, seeds=2, chunk_size=2, checkpoint_dir=tmp_path)
    path, log = tmp_path / "state.msgpack", tmp_path / "metrics.log"
    good, good_log = serialization.msgpack_restore(unseal(path.read_bytes())), log.read_bytes()
    name = next(iter(load_checkpoint(tmp_path, state_template(algo, 2))[1]))
    leaf_path = []
    node = good["state"]
    while isinstance(node, dict):
        key = next(iter(node))
        leaf_path.append(key)
        node = node[key]

    def with_leaf(value):
        bad = serialization.msgpack_restore(unseal(path.read_bytes()))
        node = bad["state"]
        for key in leaf_path[:-1]:
            node = node[key]
        node[leaf_path[-1]] = value
        return bad

    one_row = serialization.msgpack_serialize({name: np.zeros((1, 2), np.float32)})
    # (a log cut short blamed the state file: "state.msgpack is damaged (... metrics.log ...)")
    log_damaged = r"metrics.log is damaged \(ValueError: .*\), while state.msgpack beside it"
    damaged = [
        ({**good, "update": np.asarray(-4)}, good_log, "state.msgpack is damaged"),
        (good, good_log[:-3], log_damaged),  # the log cut short
        (good, b"", log_damaged),
        (good, struct.pack("<QQ", len(one_row), 2) + one_row, log_damaged),  # 1 row, says 2
        # a checkpoint from before the log, with its metrics inside: read, and checked
        ({**good, "metrics": {name: np.zeros((1, 2), np.float32)}}, b"", "damaged"),
        ({**good, "metrics": {name: np.asarray(["a", "b"])}}, b"", "damaged"),
        (with_leaf("abc"), good_log, "damaged"),
        (with_leaf({"a": np.zeros(2), "b": np.zeros(2)}), good_log, "does not fit"),
    ]
    for payload, log_bytes, message in damaged:
        path.write_bytes(serialization.msgpack_serialize(payload))
        log.write_bytes(log_bytes)
        with pytest.raises(ConfigError, match=message):
            load_checkpoint(tmp_path, state_template(algo, 2))
    path.write_bytes(serialization.msgpack_serialize(good))
    log.unlink()
    with pytest.raises(ConfigError, match=r"metrics.log is missing \(FileNotFoundError"):
        load_checkpoint(tmp_path, state_template(algo, 2))
    log.write_bytes(good_log)
    # a whole checkpoint of another seed count is another config's, not a damaged file
    with pytest.raises(ConfigError, match="does not fit this config"):
        load_checkpoint(tmp_path, state_template(algo, 3))


def test_a_bit_changed_on_disk_is_found(tmp_path):
    """The state file and each metrics frame carry their SHA-256: one flipped bit in an array
    (which msgpack would load as another number) is refused as damaged, the file named."""
    algo = small_ppo()
    jirl.run(algo, jax.random.PRNGKey(0), 2, seeds=2, chunk_size=2, checkpoint_dir=tmp_path)
    template = state_template(algo, 2)
    for name in ("state.msgpack", "metrics.log"):
        path = tmp_path / name
        good = path.read_bytes()
        assert SEAL in good
        flipped = bytearray(good)
        flipped[-5] ^= 0x10  # inside the last array's bytes
        path.write_bytes(bytes(flipped))
        with pytest.raises(ConfigError, match="damaged") as caught:
            load_checkpoint(tmp_path, template)
        assert name in str(caught.value) and "checksum does not match" in str(caught.value)
        path.write_bytes(good)
        load_checkpoint(tmp_path, template)
    # a frame's update count sits outside its seal: checked against the payload's rows
    log = tmp_path / "metrics.log"
    good = log.read_bytes()
    length, updates = struct.unpack("<QQ", good[:16])
    log.write_bytes(struct.pack("<QQ", length, updates - 1) + good[16:])
    with pytest.raises(ConfigError, match="holds \\[2\\] updates' rows, not 1"):
        load_checkpoint(tmp_path, template)
    # frames written before the seal load as they are
    log.write_bytes(struct.pack("<QQ", length - 44, updates) + unseal(good[16:]))
    assert len(unseal(good[16:])) == length - 44
    load_checkpoint(tmp_path, template)


def test_nan_guard_stops_and_keeps_last_good_checkpoint(tmp_path):
    def init(key):
        return {"x": jnp.ones(()), "step": jnp.zeros((), jnp.int32)}

    def doubling(state):
        step = state["step"] + 1
        x = jnp.where(step >= 5, jnp.nan, state["x"] * 2.0)
        return {"x": x, "step": step}, {"loss": x}

    algo = Algorithm(init, doubling, lambda s, o, k: o)
    with pytest.raises(NonFiniteError, match=r"at update 5 .* checkpoint \(update 4\) is kept"):
        jirl.run(algo, jax.random.PRNGKey(0), 8, chunk_size=2, checkpoint_dir=tmp_path)
    state, metrics, update = load_checkpoint(tmp_path, state_template(algo, 1))
    assert update == 4
    assert float(state["x"][0]) == 16.0
    # checkpoints every 3rd chunk: the good chunk after the last one saved is saved on the NaN
    late = tmp_path / "every3"
    with pytest.raises(NonFiniteError, match="at update 5"):
        jirl.run(algo, jax.random.PRNGKey(0), 8, chunk_size=2, checkpoint_dir=late,
                 checkpoint_every=3)  # fmt: skip
    state, metrics, update = load_checkpoint(late, state_template(algo, 1))
    assert update == 4 and float(state["x"][0]) == 16.0 and metrics["loss"].shape == (4, 1)
    with pytest.raises(ConfigError, match="checkpoint_every must be >= 1"):
        jirl.run(algo, jax.random.PRNGKey(0), 8, checkpoint_dir=late, checkpoint_every=0)
    # the state alone goes NaN (no metric shows it): its leaf and the chunk are named
    silent = Algorithm(init, lambda s: (doubling(s)[0], {"count": s["step"]}), lambda s, o, k: o)
    message = r"the state's \['x'\] became NaN or inf in the chunk of updates 5-6 in run\(s\) \[0\]"
    with pytest.raises(NonFiniteError, match=message + " of the seed axis; no checkpoint is"):
        jirl.run(silent, jax.random.PRNGKey(0), 8, chunk_size=2)

    # two metrics go: the one that went first is named, whatever the dict's order
    def two(state):
        state, _ = doubling(state)
        late = jnp.where(state["step"] >= 6, jnp.nan, 0.0)
        return state, {"late": late, "early": state["x"]}

    with pytest.raises(NonFiniteError, match="metric 'early' became NaN or inf at update 5"):
        jirl.run(Algorithm(init, two, lambda s, o, k: o), jax.random.PRNGKey(0), 8, chunk_size=4)
    # diverged in the first chunk: no checkpoint to promise
    with pytest.raises(NonFiniteError, match="first chunk, so no checkpoint was written"):
        jirl.run(algo, jax.random.PRNGKey(0), 8, chunk_size=8, checkpoint_dir=tmp_path / "none")


def _runaway(rates):
    """A toy algorithm whose run i multiplies x by rates[i] each update (metrics: x, and the
    2-vector [x, −x]), and the initial state of its runs."""

    def init(key):
        del key
        return {"x": jnp.ones(()), "rate": jnp.ones(())}

    def update(state):
        x = state["x"] * state["rate"]
        return {**state, "x": x}, {"x": x, "pair": jnp.stack([x, -x])}

    algo = Algorithm(init, update, lambda s, o, k: o)
    return algo, {"x": jnp.ones(len(rates)), "rate": jnp.asarray(rates)}


def test_a_diverged_run_is_named_and_vector_metrics_keep_their_axes(tmp_path):
    algo, initial = _runaway([0.5, 1.0, 1e30])
    with pytest.raises(NonFiniteError, match=r"in run\(s\) \[2\] of the seed axis") as e:
        jirl.run(algo, jax.random.PRNGKey(0), 4, chunk_size=2, initial_state=initial)
    assert e.value.runs == (2,)
    algo, initial = _runaway([0.5, 2.0])
    result = jirl.run(algo, jax.random.PRNGKey(0), 4, chunk_size=3, initial_state=initial)
    assert result.metrics["pair"].shape == (4, 2, 2)  # [updates, seeds, 2]
    np.testing.assert_array_equal(result.metrics["pair"][:, 1, 0], [2.0, 4.0, 8.0, 16.0])
    np.testing.assert_array_equal(result.metrics["pair"][:, 0, 1], [-0.5, -0.25, -0.125, -0.0625])


def test_resume_refuses_fewer_updates_than_the_checkpoint_holds(tmp_path):
    algo = small_ppo()
    jirl.run(algo, jax.random.PRNGKey(0), 4, seeds=1, chunk_size=2, checkpoint_dir=tmp_path)
    with pytest.raises(ConfigError, match="holds 4 updates, more than the 2 asked"):
        jirl.run(algo, jax.random.PRNGKey(0), 2, chunk_size=2, checkpoint_dir=tmp_path,
                 resume=True)  # fmt: skip


def test_resume_refuses_a_checkpoint_whose_metrics_another_version_logged(tmp_path):
    """A jirl version that adds (or drops) a metric resumed a run of the one before with a
    NumPy traceback at the first checkpoint (a history list one entry short)."""

    def toy(extra: bool) -> Algorithm:
        def update(state):
            metrics = {"x": state} | ({"y": state} if extra else {})
            return state + 1.0, metrics

        return Algorithm(lambda key: jnp.zeros(()), update, lambda s, o, k: o, "toy", 1)

    jirl.run(toy(False), jax.random.PRNGKey(0), 2, chunk_size=2, checkpoint_dir=tmp_path)
    with pytest.raises(ConfigError, match="holds the metrics x, and the algorithm now logs x, y"):
        jirl.run(toy(True), jax.random.PRNGKey(0), 4, chunk_size=2, checkpoint_dir=tmp_path,
                 resume=True)  # fmt: skip


def test_resuming_a_finished_run_returns_it_on_the_device(tmp_path):
    """A run killed after its last checkpoint (while evaluating) resumes to its final state,
    on the device like any run's, with no update run and nothing timed."""
    algo = small_ppo()
    full = jirl.run(algo, jax.random.PRNGKey(0), 5, seeds=2, chunk_size=2, checkpoint_dir=tmp_path)
    again = jirl.run(
        algo, jax.random.PRNGKey(0), 5, seeds=2, chunk_size=2, checkpoint_dir=tmp_path, resume=True
    )
    assert again.updates_run == 0 and again.wall_seconds == again.other_seconds == 0.0
    assert (again.total.updates, again.total.wall_seconds) == (5, full.wall_seconds)
    # (checkpoints and callbacks too: a resumed finished run's summary.json had less wall time)
    assert 0 < again.total.other_seconds <= full.other_seconds
    for a, b in zip(jax.tree.leaves(full.state), jax.tree.leaves(again.state), strict=True):
        assert isinstance(b, jax.Array)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_callback_returning_true_stops_the_run_and_checkpoints(tmp_path):
    def init(key):
        return {"x": jnp.zeros(())}

    def update(state):
        x = state["x"] + 1.0
        return {"x": x}, {"x": x}

    algo = Algorithm(init, update, lambda s, o, k: o)
    seen = []

    def reached_five(first, metrics, state):
        seen.append(first)
        return bool(np.all(metrics["x"][-1] >= 5.0))

    result = jirl.run(
        algo,
        jax.random.PRNGKey(0),
        20,
        chunk_size=2,
        callbacks=[reached_five],
        checkpoint_dir=tmp_path,
        checkpoint_every=100,
    )
    assert seen == [0, 2, 4]
    assert result.metrics["x"].shape == (6, 1)
    state, _, update = load_checkpoint(tmp_path, state_template(algo, 1))
    assert update == 6
    assert float(state["x"][0]) == 6.0
    expected = r"at \['x'\]: shape \(1,\) float32 where \(1, 3\) float32 is expected"
    with pytest.raises(ConfigError, match=expected):
        load_checkpoint(
            tmp_path, state_template(algo._replace(init=lambda k: {"x": jnp.zeros(3)}), 1)
        )


def test_a_state_larger_than_half_the_devices_memory_is_refused_before_allocating(tmp_path):
    """`jirl.run` checks the shapes `init` would allocate (lowered, not run) against the devices'
    memory: a state of terabytes is a one-line ConfigError, not an OOM kill after compiling."""
    from jirl.run import check_state_fits, memory_limit, seed_layout

    limit = memory_limit(jax.devices()[:1])  # the host's memory, for CPU devices
    assert limit is None or limit > 0
    layout = seed_layout(4)
    small = {"params": jax.ShapeDtypeStruct((4, 1000), jnp.float32)}
    check_state_fits(small, layout)
    typed_keys = jax.eval_shape(lambda: jax.random.split(jax.random.key(0), 4))  # key<fry>
    check_state_fits({**small, "key": typed_keys}, layout)
    huge = {**small, "buffer": jax.ShapeDtypeStruct((4, 10**12), jnp.float32)}
    with pytest.raises(ConfigError, match=r"needs 16,000.0 GB \(largest: \['buffer'\] \[4, "):
        check_state_fits(huge, layout)

    env = envs.make("cartpole")
    base = ppo.make(ppo.PPOConfig(num_envs=2, num_steps=8), env)

    def init(key):
        return base.init(key), jnp.zeros((2**31 - 1, 4096), jnp.float32)  # 35 TB per seed

    def update(state):
        inner, extra = state
        inner, metrics = base.update(inner)
        return (inner, extra), metrics

    algo = base._replace(init=init, update=update)
    with pytest.raises(ConfigError, match="more than half of the .* of device memory"):
        jirl.run(algo, jax.random.PRNGKey(0), 1, seeds=2, checkpoint_dir=tmp_path / "ckpt")
    assert not (tmp_path / "ckpt").exists()


def test_host_memory_takes_the_least_limit_of_the_process_cgroups(tmp_path):
    """A batch job's limit sits in its own cgroup's directory, not at the cgroup root."""
    from jirl.devices import host_memory

    proc = tmp_path / "cgroup"
    proc.write_text("0::/job/step\n")
    root = tmp_path / "sys"
    (root / "job" / "step").mkdir(parents=True)
    (root / "job" / "step" / "memory.max").write_text("max\n")
    (root / "job" / "memory.max").write_text("3000000\n")
    assert host_memory(str(proc), str(root)) == 3_000_000
    proc.write_text("4:memory,cpu:/slurm/job7\n")  # cgroup v1
    (root / "memory" / "slurm" / "job7").mkdir(parents=True)
    (root / "memory" / "slurm" / "job7" / "memory.limit_in_bytes").write_text("2000000\n")
    assert host_memory(str(proc), str(root)) == 2_000_000
    assert host_memory(str(tmp_path / "none"), str(root)) > 2_000_000  # the physical memory


def test_an_update_without_metrics_is_refused_before_running():
    """An update returning `{}` raised StopIteration from the loggers after its first chunk."""
    init = lambda key: {"x": jnp.zeros(())}
    algo = Algorithm(init, lambda s: (s, {}), lambda s, o, k: o)
    with pytest.raises(ConfigError, match="algo.update returned no metrics"):
        jirl.run(algo, jax.random.PRNGKey(0), 4, chunk_size=2)


@pytest.mark.parametrize("name", ["step", "env_steps", "wall_time"])
def test_a_metric_named_as_a_metrics_rows_own_key_is_refused(name):
    """A metric named `step` replaced metrics.jsonl's own step with a list: every row was then
    refused as damaged (`jirl plot`: "no update logged"; a resume, every row rebuilt)."""
    init = lambda key: {"x": jnp.zeros(())}
    algo = Algorithm(init, lambda s: (s, {"loss": s["x"], name: s["x"]}), lambda s, o, k: o)
    with pytest.raises(ConfigError, match=f"returns a metric named '{name}'"):
        jirl.run(algo, jax.random.PRNGKey(0), 4, chunk_size=2)


def test_checkpoints_append_each_chunks_metrics_once(tmp_path):
    """Every checkpoint rewrote the whole metrics history (8,000 updates of 64 seeds: 39 s of
    checkpoints for a 1.9 s run). Each now appends its own updates to the metrics log; a frame
    a kill left past the last checkpoint is dropped on resume; a checkpoint written before
    the log (its metrics inside) resumes and is carried over whole."""
    from flax import serialization

    from jirl.run import _log_frames

    init = lambda key: {"x": jax.random.normal(key, ())}
    step = lambda s: ({"x": s["x"] * 1.5 + 1.0}, {"x": s["x"], "pair": jnp.stack([s["x"]] * 2)})
    algo = Algorithm(init, step, lambda s, o, k: o)
    key = jax.random.PRNGKey(0)
    full = jirl.run(algo, key, 8, seeds=2, chunk_size=2)
    ckpt = tmp_path / "a"
    jirl.run(algo, key, 6, seeds=2, chunk_size=2, checkpoint_dir=ckpt)
    frames = _log_frames(ckpt / "metrics.log")
    assert [updates for *_, updates in frames] == [2, 4, 6]
    with (ckpt / "metrics.log").open("rb") as f:
        for offset, length, _ in frames:
            f.seek(offset)
            assert serialization.msgpack_restore(unseal(f.read(length)))["x"].shape == (2, 2)

    def same_as_full(result):
        for k in full.metrics:
            np.testing.assert_array_equal(full.metrics[k], result.metrics[k])

    # a kill after the log's append, before the state's write: the frame is dropped
    with (ckpt / "metrics.log").open("ab") as f:
        f.write(struct.pack("<QQ", 3, 8) + b"abc")
    same_as_full(jirl.run(algo, key, 8, seeds=2, chunk_size=2, checkpoint_dir=ckpt, resume=True))
    assert [u for *_, u in _log_frames(ckpt / "metrics.log")] == [2, 4, 6, 8]
    _, metrics, _ = load_checkpoint(ckpt, state_template(algo, 2))
    same_as_full(types.SimpleNamespace(metrics=metrics))
    # a checkpoint from before the log: its metrics inside the state file
    old = tmp_path / "old"
    jirl.run(algo, key, 4, seeds=2, chunk_size=2, checkpoint_dir=old)
    payload = serialization.msgpack_restore(unseal((old / "state.msgpack").read_bytes()))
    payload["metrics"] = load_checkpoint(old, state_template(algo, 2))[1]
    (old / "state.msgpack").write_bytes(serialization.msgpack_serialize(payload))
    (old / "metrics.log").unlink()
    same_as_full(jirl.run(algo, key, 8, seeds=2, chunk_size=2, checkpoint_dir=old, resume=True))
    _, metrics, _ = load_checkpoint(old, state_template(algo, 2))
    same_as_full(types.SimpleNamespace(metrics=metrics))


def test_every_algorithms_update_keeps_the_types_of_its_state(cartpole_expert):
    """`update`'s state has `init`'s dtypes and weak types leaf for leaf, so a notebook's
    `jax.jit(algo.update)` compiles once (FEM's init once held a weak-typed inf: the second
    call compiled again)."""
    from jirl import algos, data
    from jirl.algos import expert as experts

    env = envs.make("cartpole")
    loaded = data.load(cartpole_expert / "demos.npz", env=env)
    inputs = algos.Inputs(
        data.take_episodes(loaded.trajectories, 2), experts.load(cartpole_expert, env)
    )
    for name in sorted(algos.REGISTRY):
        spec = algos.REGISTRY[name]
        algo = spec.build(spec.config_cls(), env, inputs)
        state = jax.eval_shape(algo.init, jax.random.PRNGKey(0))
        new, _ = jax.eval_shape(algo.update, state)
        types_of = lambda tree: jax.tree.map(lambda x: (x.shape, x.dtype, x.weak_type), tree)  # noqa: E731
        assert types_of(new) == types_of(state), name
