"""The one generalised advantage estimator (Schulman et al. 2016, eq. 16), as a reverse scan."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

from jirl.types import Array


def gae(
    r_t: Array,
    v_t: Array,
    v_tp1: Array,
    terminated_t: Array,
    done_t: Array,
    gamma: float,
    lam: float,
) -> tuple[Array, Array]:
    """GAE(γ, λ) on one environment's time axis.

    δ_t = r_t + γ (1 − terminated_t) V(s_{t+1}) − V(s_t);  A_t = δ_t + γλ (1 − done_t) A_{t+1}.

    `v_tp1` is the value of the observation actually reached (before any auto-reset), so an
    episode cut by the horizon (done but not terminated) is bootstrapped from its last state,
    while the advantage recursion still stops at every episode boundary.

    Args:
      r_t: [T] rewards. v_t: [T] values of s_t. v_tp1: [T] values of s_{t+1}.
      terminated_t: [T] bool. done_t: [T] bool (terminated or truncated).
      gamma, lam: discount and GAE λ (may be traced).

    Returns:
      (advantages [T], value targets [T] = advantages + v_t).
    """
    chex.assert_rank([r_t, v_t, v_tp1, terminated_t, done_t], 1)
    # Selected, not multiplied by 0 or 1: a non-finite V of a state past a termination (or of
    # the next episode's advantage) must not leak back as 0 · inf = NaN.
    delta_t = r_t + gamma * jnp.where(terminated_t, 0.0, v_tp1) - v_t

    def backward(a_tp1, inputs):
        delta, done = inputs
        a_t = delta + gamma * lam * jnp.where(done, 0.0, a_tp1)
        return a_t, a_t

    _, adv_t = jax.lax.scan(backward, jnp.zeros_like(r_t[0]), (delta_t, done_t), reverse=True)
    return adv_t, adv_t + v_t


def standardize(x: Array) -> Array:
    """`(x − mean) / (std + 1e-8)` over all of `x`: advantages on a common scale, as PPO (per
    minibatch) and TRPO (per batch) take them."""
    return (x - x.mean()) / (x.std() + 1e-8)


def batched_gae(r, v, v_next, terminated, done, gamma, lam) -> tuple[Array, Array]:
    """`gae` over a `[T, B]` batch (time first, as a rollout returns it)."""
    return jax.vmap(gae, in_axes=(1, 1, 1, 1, 1, None, None), out_axes=1)(
        r, v, v_next, terminated, done, gamma, lam
    )
