import jax
import numpy as np

import jirl
from jirl import data, envs
from jirl.algos import bc
from jirl.evaluation import episode_returns, normalized_score


def test_bc_loss_by_hand():
    env = envs.make("cartpole")
    policy = bc.make_policy(bc.BCConfig(), env)
    params = policy.init(jax.random.PRNGKey(0))
    params = jax.tree.map(lambda x: x * 0.0, params)  # uniform logits: -log(1/2) per sample
    from jirl.nets import Normalizer

    loss, metrics = bc.bc_loss(
        params, policy, Normalizer.create((4,)), np.zeros((3, 4)), np.array([0, 1, 1])
    )
    np.testing.assert_allclose(loss, np.log(2.0), rtol=1e-6)
    np.testing.assert_allclose(metrics["entropy"], np.log(2.0), rtol=1e-6)


def test_bc_from_10_episodes_reaches_expert(cartpole_expert):
    env = envs.make("cartpole")
    demos = data.load(cartpole_expert / "demos.npz", env=env)
    assert demos.trajectories.num_episodes == 10
    algo = bc.make(bc.BCConfig(), env, demos.trajectories)
    train = jirl.make_train(algo, 40)

    def score(key):
        state, _ = train(key)
        return episode_returns(
            env, lambda o, k: algo.act(state, o, k), jax.random.PRNGKey(5), 32
        ).mean()

    returns = jax.jit(jax.vmap(score))(jax.random.split(jax.random.PRNGKey(0), 4))
    h = demos.header
    scores = normalized_score(returns, h.expert_return, h.random_return)
    print("BC normalized score per seed:", scores)
    assert float(scores.mean()) >= 0.9
