"""Multi-device: the seed axis sharded over 4 (forced host) devices gives the runs of one device.

XLA_FLAGS must be set before JAX starts, so the check runs in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np, jirl
    from jirl import envs
    from jirl.rl import ppo

    assert len(jax.devices()) == 4, jax.devices()
    algo = ppo.make(ppo.PPOConfig(num_envs=4, num_steps=16), envs.make("cartpole"))
    key = jax.random.PRNGKey(0)
    sharded = jirl.run(algo, key, 6, seeds=8, chunk_size=3)
    assert len(jax.tree.leaves(sharded.state)[0].sharding.device_set) == 4
    one = jirl.run(algo, key, 6, seeds=8, chunk_size=3, devices=jax.devices()[:1])
    assert len(jax.tree.leaves(one.state)[0].sharding.device_set) == 1
    leaves = lambda r: [np.asarray(x) for x in jax.tree.leaves(r.state)]
    # The same runs, to XLA:CPU's rounding: a 4-device program vectorises 2 seeds per device
    # where one device vectorises 8, which changes float32 results by a few ulps (measured:
    # at most 9e-8 on parameters after 6 updates), never more.
    for a, b in zip(leaves(sharded), leaves(one), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for k in one.metrics:
        np.testing.assert_allclose(sharded.metrics[k], one.metrics[k], rtol=1e-4, atol=1e-5)
    # and the seeds differ from each other by far more, so the comparison is not vacuous
    biggest = max(leaves(one), key=lambda x: x.size)
    assert np.abs(biggest[0] - biggest[1]).max() > 1e-3
    print("ok")
    """
)


def test_sharded_run_over_four_devices_equals_one_device():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    env["JAX_PLATFORMS"] = "cpu"
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("ok")
