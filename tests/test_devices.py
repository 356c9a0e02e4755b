"""Multi-device: the seed axis sharded over (3 of) 4 forced host devices, padded with repeats
where the devices do not divide it, gives the runs of one device;
`jirl.use_cpu_cores` makes a CPU device per core, and the adversarial loop (whose scans start
from constants) runs sharded over them.

The device count is fixed when JAX starts, so each check runs in a subprocess.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from conftest import subprocess_env

SCRIPT = textwrap.dedent(
    """
    import shutil, tempfile, warnings
    import jax, numpy as np, pytest, jirl
    from jirl import envs
    from jirl.rl import ppo
    from jirl.run import load_checkpoint, seed_layout, state_template

    assert len(jax.devices()) == 4, jax.devices()
    # the seeds go over the devices as evenly as they allow, padded with repeats
    layouts = {n: seed_layout(n) for n in (1, 2, 5, 6, 7, 8)}
    assert [(n, l.devices, l.padded) for n, l in layouts.items()] == [
        (1, 1, 1), (2, 2, 2), (5, 3, 6), (6, 3, 6), (7, 4, 8), (8, 4, 8)]
    assert seed_layout(5, jax.devices()[:2]).padded == 6
    assert seed_layout(1).sharding is None
    with pytest.raises(jirl.ConfigError, match="no devices named"):
        seed_layout(4, [])
    # (one epoch of one minibatch: what is checked is the sharding, and a smaller program
    # compiles faster; each layout below is one more compile, so there are three)
    config = ppo.PPOConfig(num_envs=4, num_steps=16, num_epochs=1, num_minibatches=1)
    algo = ppo.make(config, envs.make("cartpole"))
    key = jax.random.PRNGKey(0)
    leaves = lambda r: [np.asarray(x) for x in jax.tree.leaves(r.state)]
    # 5 seeds over 3 of the 4 devices, padded to 6, checkpointed: the 5 runs of one device,
    # and a checkpoint that holds those 5 only
    ckpt = tempfile.mkdtemp()
    sharded = jirl.run(algo, key, 6, seeds=5, chunk_size=3, checkpoint_dir=ckpt)
    assert len(jax.tree.leaves(sharded.state)[0].sharding.device_set) == 3
    assert sharded.layout.devices == 3 and sharded.layout.padded == 6
    assert all(x.shape[0] == 5 for x in jax.tree.leaves(sharded.state))
    assert all(v.shape == (6, 5) for v in sharded.metrics.values())
    one = jirl.run(algo, key, 6, seeds=5, chunk_size=3, devices=jax.devices()[:1])
    assert len(jax.tree.leaves(one.state)[0].sharding.device_set) == 1
    # The same runs, to XLA:CPU's rounding: a 3-device program vectorises 2 seeds per device
    # where one device vectorises 5, which changes float32 results by a few ulps (measured:
    # at most 9e-8 on parameters after 6 updates), never more.
    for a, b in zip(leaves(sharded), leaves(one), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for k in one.metrics:
        np.testing.assert_allclose(sharded.metrics[k], one.metrics[k], rtol=1e-4, atol=1e-5)
    # and the seeds differ from each other by far more, so the comparison is not vacuous
    biggest = max(leaves(one), key=lambda x: x.size)
    assert np.abs(biggest[0] - biggest[1]).max() > 1e-3
    saved, _, update = load_checkpoint(ckpt, state_template(algo, 5))
    assert update == 6
    for a, b in zip(jax.tree.leaves(saved), leaves(sharded), strict=True):
        np.testing.assert_array_equal(a, b)
    # stopped after 3 updates, then resumed: bit for bit
    first = jirl.run(algo, key, 3, seeds=5, chunk_size=3, checkpoint_dir=ckpt + "/r")
    assert first.layout.padded == 6
    shutil.copytree(ckpt + "/r", ckpt + "/w")  # (3 updates: resumed on one device below)
    resumed = jirl.run(algo, key, 6, seeds=5, chunk_size=3, checkpoint_dir=ckpt + "/r",
                       resume=True)
    assert resumed.updates_run == 3
    for a, b in zip(leaves(resumed), leaves(sharded), strict=True):
        np.testing.assert_array_equal(a, b)
    for k in sharded.metrics:
        np.testing.assert_array_equal(resumed.metrics[k], sharded.metrics[k])
    # resuming on another layout runs, but warns that it is not bit for bit
    with pytest.warns(UserWarning, match="trained on 3 device.s. and resumes on 1"):
        moved = jirl.run(algo, key, 6, seeds=5, chunk_size=3, checkpoint_dir=ckpt + "/w",
                         resume=True, devices=jax.devices()[:1])
    assert moved.updates_run == 3 and moved.devices == 1
    # a finished run has nothing left to train: no warning, and its devices stay the
    # checkpoint's (what summary.json reports)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*trained on")
        again = jirl.run(algo, key, 6, seeds=5, chunk_size=3, checkpoint_dir=ckpt + "/r",
                         resume=True, devices=jax.devices()[:1])
    assert again.updates_run == 0 and again.devices == 3 and again.layout.devices == 1
    assert resumed.devices == 3
    # one device named that is not the default: the runs go there
    third = jirl.run(algo, key, 3, seeds=2, chunk_size=3, devices=jax.devices()[2:3])
    assert jax.tree.leaves(third.state)[0].sharding.device_set == {jax.devices()[2]}
    print("ok")
    """
)

CORES_SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np, jirl
    from jirl import data, envs
    from jirl.algos import gail

    jirl.use_cpu_cores(2)  # after importing jirl.envs: nothing there starts JAX
    assert len(jax.devices()) == 2, jax.devices()
    env = envs.make("cartpole")
    random_policy = lambda obs, key: jax.random.randint(key, (), 0, 2)
    demos = data.collect(env, random_policy, jax.random.PRNGKey(2), num_episodes=2)
    # fixed horizons: the rollout's scan carries start from constants
    config = gail.GAILConfig(num_envs=4, num_steps=16, disc_batch_size=32, num_epochs=1,
                             num_minibatches=1, disc_updates=1)
    algo = gail.make(config, env, demos)
    key = jax.random.PRNGKey(0)
    sharded = jirl.run(algo, key, 3, seeds=4, chunk_size=3)
    assert len(jax.tree.leaves(sharded.state)[0].sharding.device_set) == 2
    one = jirl.run(algo, key, 3, seeds=4, chunk_size=3, devices=jax.devices()[:1])
    for k in one.metrics:
        np.testing.assert_allclose(sharded.metrics[k], one.metrics[k], rtol=1e-4, atol=1e-5)
    import pytest
    # (jax 0.4.35 has no jax_num_cpu_devices: it reads XLA_FLAGS as it starts, so a late call
    # cannot be told from an early one there, and does not warn)
    if "jax_num_cpu_devices" in jax.config.values:
        with pytest.warns(UserWarning, match="before the first computation"):
            jirl.use_cpu_cores(3)  # JAX has started: no effect but a warning
    else:
        jirl.use_cpu_cores(3)
    assert len(jax.devices()) == 2
    with pytest.raises(jirl.ConfigError, match="must be >= 1"):
        jirl.use_cpu_cores(0)
    # the CLI: --devices N shards the runs over at most N devices, padding 3 runs to 2 + 2, and
    # says so in summary.json; a count out of range is a user error (exit 2), before training
    import json, pathlib, tempfile
    from jirl.cli import main
    demos = pathlib.Path(tempfile.mkdtemp()) / "d.npz"
    # a random policy's episodes, scored as an expert's would be (a header below the random
    # policy's return is refused)
    data.save(demos, data.collect(env, random_policy, jax.random.PRNGKey(3), 2), env,
              expert_return=500.0, random_return=22.0)
    argv = ["train", "bc", "--env", "cartpole", "--demos", str(demos), "--quiet", "--updates",
            "2", "--set", "chunk=2", "--devices", "2"]
    out = demos.parent / "run"
    bad = [*argv[:-1], "3", "--seeds", "3", "--out", str(out)]
    assert main(bad) == 2 and not out.exists()
    assert main([*argv, "--seeds", "3", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["devices"] == 2 and len(summary["return"]["per_seed"]) == 3
    print("ok")
    """
)


def run_script(script: str, xla_flags: str = "") -> None:
    env = subprocess_env(xla_flags)
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("ok")


@pytest.mark.slow
def test_sharded_run_over_four_devices_equals_one_device():
    run_script(SCRIPT, "--xla_force_host_platform_device_count=4")


@pytest.mark.slow
def test_use_cpu_cores_shards_the_adversarial_loop_over_cpu_devices():
    run_script(CORES_SCRIPT)
