"""Brax locomotion environments (`inverted_pendulum`, `hopper`, `halfcheetah`, `ant`, ...).

The Brax backend (`generalized`, `positional`, `spring`, `mjx`) is selectable; Brax's own
episode wrappers are not used: `Env` adds the horizon and auto-reset like for every backend.
Actions are clipped to Brax's [-1, 1] box (`Spec.executed`) before they reach the physics.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import jax

from jirl.envs.base import Env, Spec

#: jirl name -> brax registry name
BRAX = {
    "ant": "ant",
    "halfcheetah": "halfcheetah",
    "hopper": "hopper",
    "humanoid": "humanoid",
    "humanoidstandup": "humanoidstandup",
    "inverted_pendulum": "inverted_pendulum",
    "inverted_double_pendulum": "inverted_double_pendulum",
    "pusher": "pusher",
    "reacher": "reacher",
    "swimmer": "swimmer",
    "walker2d": "walker2d",
}

BACKENDS = ("generalized", "positional", "spring", "mjx")


def make_brax(
    name: str, horizon: int | None = None, fixed_horizon: bool = False, backend: str = "generalized"
) -> Env:
    # Quiet three notices that are not the user's business: MuJoCo's "Failed to import warp"
    # (printed on stdout at import; warp is MJX's optional GPU engine, unused here), Brax's
    # "not actively being maintained" UserWarning (raised at every model load), and the MuJoCo
    # compiler's warnings on Brax's own model files (halfcheetah's deprecated `settotalmass`:
    # a line on stdout and a MUJOCO_LOG.TXT left in the working directory). Without this, a
    # one-line CLI error on a Brax env comes with three more lines.
    with contextlib.redirect_stdout(io.StringIO()):
        import mujoco
        from brax import envs as brax_envs
    previous = mujoco.get_mju_user_warning()
    mujoco.set_mju_user_warning(lambda message: None)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Brax System", UserWarning)
            benv = brax_envs.get_environment(BRAX[name], backend=backend)
    finally:
        mujoco.set_mju_user_warning(previous)
    horizon = 1000 if horizon is None else int(horizon)
    # The observation's width from an abstract reset: Brax's own `observation_size` runs
    # `reset` eagerly, op by op, compiling each (about 600 programs: 19 s for hopper on a
    # 2-core CPU, against well under a second to trace it once).
    key = jax.eval_shape(jax.random.PRNGKey, 0)  # (its shape depends on the PRNG impl)
    obs_size = jax.eval_shape(benv.reset, key).obs.shape[-1]
    spec = Spec(
        obs_shape=(int(obs_size),),
        discrete=False,
        action_dim=int(benv.action_size),
        # every Brax env takes actions in [-1, 1]: those whose actuators have another range
        # (inverted_pendulum ±3, pusher ±2, humanoid ±0.4) rescale them to it in `step`
        action_low=-1.0,
        action_high=1.0,
    )

    def raw_reset(key):
        inner = benv.reset(key)
        return inner, inner.obs

    def raw_step(key, inner, action):
        del key  # Brax dynamics are deterministic; `Env.step` clipped the action
        inner = benv.step(inner, action)
        return inner, inner.obs, inner.reward, inner.done > 0.5

    # Brax's robots terminate only when unhealthy (fallen); the others never terminate.
    return Env(
        name,
        spec,
        horizon,
        raw_reset,
        raw_step,
        fixed_horizon,
        (("backend", backend),),
        terminal_failure=True,
    )
