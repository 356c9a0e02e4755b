import jax
import jax.numpy as jnp
import numpy as np

import jirl
from jirl import data, envs
from jirl.algos import bc
from jirl.evaluation import episode_returns, normalized_score
from jirl.nets import Normalizer, Policy


def test_bc_loss_by_hand():
    """Logits (1, −1) in every state (all weights 0, the output bias (1, −1)): the loss of
    actions (0, 1, 1) with an entropy bonus and L2 against NumPy's."""
    env = envs.make("cartpole")
    policy = bc.make_policy(bc.BCConfig(), env)
    params = jax.tree.map(lambda x: x * 0.0, policy.init(jax.random.PRNGKey(0)))
    output_bias = lambda x: np.array([1.0, -1.0], np.float32) if x.shape == (2,) else x
    params = jax.tree.map(output_bias, params)

    loss, metrics = bc.bc_loss(
        params, policy, Normalizer.create((4,)), np.zeros((3, 4)), np.array([0, 1, 1]),
        ent_coef=0.1, l2_coef=0.01,
    )  # fmt: skip
    log_p = np.array([1.0, -1.0]) - np.log(np.e + np.exp(-1.0))
    nll = -(log_p[0] + 2 * log_p[1]) / 3
    entropy = -np.sum(np.exp(log_p) * log_p)
    l2 = 0.5 * (1.0 + 1.0)
    np.testing.assert_allclose(metrics["neg_log_likelihood"], nll, rtol=1e-6)
    np.testing.assert_allclose(metrics["entropy"], entropy, rtol=1e-6)
    np.testing.assert_allclose(loss, nll - 0.1 * entropy + 0.01 * l2, rtol=1e-6)
    np.testing.assert_allclose(metrics["accuracy"], 1 / 3, rtol=1e-6)


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


def test_l2_penalty_leaves_the_gaussians_log_std_alone():
    """The weight penalty covers the network, not log σ: with it, `l2_coef` pulled σ to 1."""
    env = envs.make("pendulum")
    policy = Policy(env.spec, (8,), "tanh")
    params = policy.init(jax.random.PRNGKey(0))
    params["params"]["log_std"] = jnp.full((1,), -0.5)  # σ ≈ 0.61, which the old penalty moved
    obs, actions = jnp.zeros((4, 3)), jnp.zeros((4, 1))
    norm = Normalizer.create((3,))
    grad = jax.grad(lambda p, c: bc.bc_loss(p, policy, norm, obs, actions, l2_coef=c)[0])
    difference = jax.tree.map(lambda a, b: a - b, grad(params, 1.0), grad(params, 0.0))
    np.testing.assert_allclose(difference["params"]["log_std"], 0.0, atol=1e-6)
    kernel = params["params"]["MLP_0"]["Dense_0"]["kernel"]
    np.testing.assert_allclose(
        difference["params"]["MLP_0"]["Dense_0"]["kernel"], kernel, atol=1e-5
    )
