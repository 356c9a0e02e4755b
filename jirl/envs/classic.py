"""Classic control through gymnax (CartPole, Acrobot, MountainCar, Pendulum).

gymnax's own time limit is disabled (set beyond the horizon) so that `Env` alone decides
truncation; gymnax termination is kept as `terminated`.
"""

from __future__ import annotations

import numpy as np

from jirl.envs.base import Env, Spec

#: Classic envs whose termination is a failure (the pole fell); the others end at a goal.
FAILS = ("cartpole",)

#: jirl name -> (gymnax id, default horizon)
CLASSIC = {
    "cartpole": ("CartPole-v1", 500),
    "acrobot": ("Acrobot-v1", 500),
    "mountaincar": ("MountainCar-v0", 200),
    "mountaincar_continuous": ("MountainCarContinuous-v0", 999),
    "pendulum": ("Pendulum-v1", 200),
}


def _bound(value, shape) -> float | tuple[float, ...]:
    """A box bound as `Spec` takes it: one number where every dimension shares it (what
    demonstration headers of these envs record), else one per dimension (the box's min and
    max once widened a box whose dimensions have different bounds)."""
    values = np.broadcast_to(np.asarray(value, np.float64), shape).ravel()
    return float(values[0]) if (values == values[0]).all() else tuple(map(float, values))


def make_classic(name: str, horizon: int | None = None, fixed_horizon: bool = False) -> Env:
    # gymnax builds arrays when imported, which starts JAX; imported here, on first use,
    # `jirl.use_cpu_cores` can still follow `import jirl.envs`.
    import gymnax

    gym_id, default_horizon = CLASSIC[name]
    horizon = default_horizon if horizon is None else int(horizon)
    genv, params = gymnax.make(gym_id)
    params = params.replace(max_steps_in_episode=horizon + 10**6)
    space = genv.action_space(params)
    obs_shape = tuple(genv.observation_space(params).shape)
    if hasattr(space, "n"):
        spec = Spec(obs_shape=obs_shape, discrete=True, num_actions=int(space.n))
    else:
        spec = Spec(
            obs_shape=obs_shape,
            discrete=False,
            action_dim=int(space.shape[0]),
            action_low=_bound(space.low, space.shape),
            action_high=_bound(space.high, space.shape),
        )

    def raw_reset(key):
        obs, inner = genv.reset_env(key, params)
        return inner, obs

    def raw_step(key, inner, action):  # (`Env.step` clips a continuous action)
        obs, inner, reward, done, _ = genv.step_env(key, inner, action, params)
        return inner, obs, reward, done

    return Env(
        name, spec, horizon, raw_reset, raw_step, fixed_horizon, terminal_failure=name in FAILS
    )
