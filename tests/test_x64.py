"""`jax_enable_x64` on (the tabular planners' advice for discounts near 1): the learners still
train in float32. With it on, PPO's GAE scan, TRPO's line search, FEM's and GTAL's weights
failed to trace (a float64 carry out of a float32 one: the normaliser, `log_std`, distrax's
entropy, GAN-GCL's log Z and one-hot actions defaulted to float64), and `experts.load`
blamed the files. x64 is fixed when JAX starts, so the check runs in a subprocess; it traces
(`jax.eval_shape`), compiling nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import subprocess_env

SCRIPT = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np, jirl
    from jirl import data, envs
    from jirl.algos import airl, apprenticeship, dagger, expert, gail, gan_gcl, gcl
    from jirl.rl import ppo, trpo

    assert jax.config.jax_enable_x64
    cartpole, pendulum = envs.make("cartpole"), envs.make("pendulum")
    demos = data.load(DATA / "cartpole" / "demos.npz", env=cartpole).trajectories
    oracle = expert.load(DATA / "cartpole", cartpole)
    small = dict(num_envs=2, num_steps=16)
    made = {
        "ppo": ppo.make(ppo.PPOConfig(**small), cartpole),
        "ppo squashed": ppo.make(ppo.PPOConfig(**small, squash=True), pendulum),
        "trpo gaussian": trpo.make(trpo.TRPOConfig(**small), pendulum),
        "gail trpo": gail.make(
            gail.GAILConfig(**small, generator="trpo", disc_batch_size=16), cartpole, demos),
        "airl": airl.make(airl.AIRLConfig(**small, disc_batch_size=16), cartpole, demos),
        "gan_gcl": gan_gcl.make(gan_gcl.GANGCLConfig(**small, disc_batch_size=4), cartpole, demos),
        "gtal": apprenticeship.make_gtal(
            apprenticeship.GTALConfig(num_envs=2, num_steps=500), cartpole, demos),
        "dagger": dagger.make(dagger.DAggerConfig(), cartpole, demos, expert=oracle),
    }
    for name, algo in made.items():
        state, metrics = jax.eval_shape(jirl.make_train(algo, 2), jax.random.PRNGKey(0))
        wide = [
            jax.tree_util.keystr(path)
            for path, x in jax.tree_util.tree_leaves_with_path((state, metrics))
            if x.dtype == jnp.float64 and ".inner." not in jax.tree_util.keystr(path)
        ]  # (gymnax's own physics state follows x64; observations reach us as float32)
        assert not wide, (name, wide)
    print("ok")
    """
)


def test_learners_train_in_float32_with_x64_on():
    data = Path(__file__).parent / "data"
    env = subprocess_env(JAX_ENABLE_X64="1")
    script = f"from pathlib import Path\nDATA = Path({str(data)!r})\n{SCRIPT}"
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("ok")
