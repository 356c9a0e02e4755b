"""`make_train`: from an `Algorithm` to a pure `train(key)`, once, for every algorithm."""

from __future__ import annotations

from collections.abc import Callable

import jax

from jirl.errors import check_count
from jirl.types import Algorithm, Array, Metrics, State


def make_train(algo: Algorithm, num_updates: int) -> Callable[[Array], tuple[State, Metrics]]:
    """`train(key) -> (state, metrics)`, metrics stacked over `num_updates` updates.

    Pure and jittable; `jax.jit(jax.vmap(train))(jax.random.split(key, n))` trains `n` seeds
    in one compile. Raises ConfigError for a `num_updates` that is no int >= 1.
    """
    num_updates = check_count("num_updates", num_updates)

    def train(key: Array):
        state = algo.init(key)
        return jax.lax.scan(lambda s, _: algo.update(s), state, None, length=num_updates)

    return train
