"""`make_train`: from an `Algorithm` to a pure `train(key)`, once, for every algorithm."""

from __future__ import annotations

from collections.abc import Callable

import jax

from jirl.errors import check_count
from jirl.types import Algorithm, Array, Metrics, State


def run_updates(
    update: Callable[[State], tuple[State, Metrics]], state: State, num_updates: int
) -> tuple[State, Metrics]:
    """`num_updates` calls of `update(state) -> (state, metrics)` in one `lax.scan`: the state
    after them and the metrics stacked `[num_updates, ...]`. The one update loop of training,
    chunked runs, retraining and the throughput benchmark."""
    return jax.lax.scan(lambda s, _: update(s), state, None, length=num_updates)


def make_train(algo: Algorithm, num_updates: int) -> Callable[[Array], tuple[State, Metrics]]:
    """`train(key) -> (state, metrics)`, metrics stacked over `num_updates` updates.

    Pure and jittable; `jax.jit(jax.vmap(train))(jax.random.split(key, n))` trains `n` seeds
    in one compile. Raises ConfigError for a `num_updates` that is no int >= 1.
    """
    num_updates = check_count("num_updates", num_updates)

    def train(key: Array):
        return run_updates(algo.update, algo.init(key), num_updates)

    return train
