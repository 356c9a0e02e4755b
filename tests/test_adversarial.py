"""GAIL (PPO and TRPO generators) and AIRL learn cartpole from a few demonstrations; PPO learns
cartpole again from AIRL's frozen reward (`jirl.retrain`); absorbing states (their pieces, their
config checks, and GAIL learning acrobot with them)."""

from __future__ import annotations

import dataclasses
import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml

from jirl import algos, data, envs
from jirl.algos import adversarial, airl, gail, gcl
from jirl.config import ExperimentConfig, experiment_config, read_yaml
from jirl.errors import ConfigError
from jirl.retrain import retrain, target_env
from jirl.run import save_checkpoint
from jirl.types import Trajectories, Transition

SEEDS = 3
#: AIRL's seeds: it ends near the expert or collapses, one seed in 16 (`configs/airl-cartpole.yaml`,
#: 16 seeds on one CPU: 0.10, 0.90, then 0.93-1.00); a 3-seed mean fell below 0.9 in 19% of
#: draws of 3 of those seeds, so its tests take the median of 5.
AIRL_SEEDS = 5


def _demos(expert_dir, episodes):
    loaded = data.load(expert_dir / "demos.npz", env=envs.make("cartpole"))
    return data.take_episodes(loaded.trajectories, episodes), loaded.header


def test_config_validation_and_defaults():
    with pytest.raises(ConfigError, match="generator"):
        gail.GAILConfig(generator="sac")
    with pytest.raises(ConfigError, match="reward_map"):
        airl.AIRLConfig(reward_map="exp")
    with pytest.raises(ConfigError, match="disc_inputs"):
        gail.GAILConfig(disc_inputs="a")
    with pytest.raises(ConfigError, match="max_kl"):
        gail.GAILConfig(generator="trpo", max_kl=-1.0)
    with pytest.raises(ConfigError, match="log_pi_weight must be >= 0, got -0.5"):
        airl.AIRLConfig(log_pi_weight=-0.5)
    with pytest.raises(ConfigError, match="replay_rounds must be >= 1 .*, got 0"):
        gail.GAILConfig(replay_rounds=0)
    with pytest.raises(ConfigError, match="disc_actions must be one of executed, sampled"):
        airl.AIRLConfig(disc_actions="clipped")
    with pytest.raises(ConfigError, match="bc_steps must be >= 0 \\(0: none\\), got -1"):
        gail.GAILConfig(bc_steps=-1)
    with pytest.raises(ConfigError, match="bc_learning_rate must be > 0, got 0.0"):
        airl.AIRLConfig(bc_learning_rate=0.0)
    # a sweep of the warm start's rate without a warm start would run one setting many times
    assert "bc_learning_rate" in gail.GAILConfig().unread_fields()
    assert "bc_learning_rate" not in gail.GAILConfig(bc_steps=10).unread_fields()
    from jirl.algos.apprenticeship import FEMConfig  # (shares the generator's fields, not these)

    assert "max_kl" in FEMConfig().unread_fields()
    env = envs.make("cartpole")
    assert adversarial.training_env(gail.GAILConfig(), env).fixed_horizon
    assert not adversarial.training_env(gail.GAILConfig(fixed_horizon=False), env).fixed_horizon
    for name in ("gail", "airl"):
        spec = algos.get(name)
        assert spec.needs_demos
        cfg = experiment_config(read_yaml(f"{name}-cartpole"), spec.config_cls)
        assert cfg.algo_config.fixed_horizon
    # GAIL's paper reward; a rate annealed over fewer updates than the run is refused.
    assert gail.GAILConfig().reward_map == "neg_log_one_minus_d"
    with pytest.raises(ConfigError, match=r"gail.anneal_updates \(150\) is below updates \(200\)"):
        experiment_config({**read_yaml("gail-cartpole"), "updates": 200}, gail.GAILConfig)


@pytest.mark.slow
def test_gail_ppo_learns_cartpole(cartpole_expert, score_seeds):
    """8 seeds, 150 updates (`configs/gail-cartpole.yaml`), the committed expert. At 100 it
    passed here by the luck of its keys: on 4 other sets of 32 keys (2026-12-06, jax 0.10.2)
    1–3 seeds in 32 collapsed to 0.31–0.44 (means 0.917–0.954), and on jax 0.4.35's random
    streams this test's 8 seeds scored 0.76 (two at 0.22 and 0.08). At 150 five such sets of
    32 scored 0.971–0.996 (worst seeds 0.58, 0.73; jax 0.4.35: 0.958, worst 0.75).

    Seeds are bimodal, so the median is asked for, with the mean as a floor, as in the GAIL
    (TRPO) test below. The mean alone failed in a fresh clone on the forty-first session's
    2-core EPYC with `FAST_COMPILE`'s codegen: 0.843 (seeds 0.14 and 0.66). Thirteen groups of
    8 seeds there (this test's keys, and `split(PRNGKey(b), 32)` for b = 1, 2, 3) had 8-seed
    means 0.843–1.000 (two below 0.9), every median 1.00, and 5 seeds of 104 below 0.8."""
    demos, header = _demos(cartpole_expert, 4)
    algo = gail.make(gail.GAILConfig(anneal_updates=150), envs.make("cartpole"), demos)
    _, _, scores = score_seeds(algo, 150, header, seeds=8)
    assert np.median(scores) >= 0.9 and scores.mean() >= 0.75, scores


@pytest.mark.slow
def test_gail_learns_pendulum_from_its_shipped_config(pendulum_expert, score_seeds):
    """Continuous actions, `configs/gail-pendulum.yaml` as shipped (4 seeds, 300 updates,
    4 demos, the policy started by behavioural cloning), the committed expert: here 0.92
    (0.90-0.95); through the CLI 0.94 and 0.96 on two sets of 16 seeds, none below 0.82. Before
    the warm start it scored 0.89 here and 0.87 and 0.92 on those sets (one seed at 0.60)."""
    cfg = experiment_config(read_yaml("gail-pendulum"), gail.GAILConfig)
    env = envs.make("pendulum")
    loaded = data.load(pendulum_expert / "demos.npz", env=env)
    demos = data.take_episodes(loaded.trajectories, cfg.num_demos)
    algo = gail.make(cfg.algo_config, env, demos)
    _, _, scores = score_seeds(algo, cfg.updates, loaded.header, seeds=cfg.seeds, env="pendulum")
    assert scores.mean() >= 0.8, scores


@pytest.mark.slow
def test_gail_trpo_learns_cartpole(cartpole_expert, score_seeds):
    """GAIL with its paper's generator, 8 seeds, 100 updates, δ annealed, λ = 0, absorbing
    states. Seeds are bimodal (a few collapse), so the median is asked for, with the mean
    held above what many lost seeds would leave: on 16 other sets of 8 keys (2026-12-06) the
    median was 0.96–1.00 and the mean 0.89–1.00 (two sets below 0.9, each with one seed at
    0.35–0.41; 150 updates did no better). Every accepted step keeps its KL bound."""
    seeds = 8
    demos, header = _demos(cartpole_expert, 4)
    config = gail.GAILConfig(
        generator="trpo", anneal_updates=100, ent_coef=0.0, absorbing=True, fixed_horizon=False
    )
    algo = gail.make(config, envs.make("cartpole"), demos)
    _, metrics, scores = score_seeds(algo, 100, header, seeds)
    assert np.median(scores) >= 0.9 and scores.mean() >= 0.75, scores
    accepted = np.asarray(metrics["step_accepted"]) > 0
    radius = np.asarray(metrics["max_kl"])  # δ, annealed from 0.01 to 0 over the run
    assert (np.asarray(metrics["kl"])[accepted] <= 1.5 * radius[accepted]).all()
    np.testing.assert_allclose(radius[:, [0, 50, 99]], [[0.01, 0.005, 0.0001]] * seeds, rtol=1e-5)


@pytest.fixture(scope="module")
def airl_run(cartpole_expert, score_seeds, tmp_path_factory):
    """An AIRL run directory as `jirl train airl --config airl-cartpole` leaves it (config.yaml,
    checkpoint/), `AIRL_SEEDS` seeds, with the median normalized score of the seeds' policies."""
    raw = read_yaml("airl-cartpole")
    raw.update(seeds=AIRL_SEEDS, demos=str(cartpole_expert / "demos.npz"))
    cfg = experiment_config(raw, airl.AIRLConfig)
    demos, header = _demos(cartpole_expert, cfg.num_demos)
    algo = airl.make(cfg.algo_config, envs.make("cartpole"), demos)
    state, _, scores = score_seeds(algo, cfg.updates, header, AIRL_SEEDS)
    out = tmp_path_factory.mktemp("airl") / "run"
    out.mkdir()
    (out / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    save_checkpoint(out / "checkpoint", state, {}, cfg.updates)
    return out, float(np.median(scores))


@pytest.mark.slow
def test_airl_learns_cartpole(airl_run):
    out, score = airl_run
    assert (out / "checkpoint" / "state.msgpack").is_file()
    assert score >= 0.9, score


@pytest.mark.slow
def test_ppo_learns_cartpole_from_airl_reward(airl_run, tmp_path):
    run_dir, _ = airl_run
    summary = retrain(run_dir, "cartpole", tmp_path / "retrain")
    assert summary["reward_kind"] == "g"
    saved = json.loads((tmp_path / "retrain" / "summary.json").read_text())
    assert saved["normalized_score"]["mean"] == summary["normalized_score"]["mean"]
    # The median seed: PPO from scratch loses a seed now and then on the true reward too
    # (tests/test_ppo.py), and one such seed sank a 3-seed mean (1.00, 1.00, −0.02 on a Zen 3 CPU,
    # the same code that passed on Zen 5); so does a reward from a collapsed AIRL seed. A reward
    # that was not learned fails every seed.
    per_seed = summary["normalized_score"]["per_seed"]
    assert float(np.median(per_seed)) >= 0.8, summary["normalized_score"]


@pytest.mark.slow  # with the other users of `airl_run`: the slow tests run first (conftest)
def test_learned_reward_is_the_runs_own_model_per_seed(airl_run, cartpole_expert):
    """`jirl.algos.learned_reward`: the public way to the reward a run learned (only the CLI's
    retrain reached it before); that this reward is learned, PPO retrained on it shows
    (`test_ppo_learns_cartpole_from_airl_reward`). Here: it is the run's g (or f), one seed's,
    or every seed's under vmap, and misuse is refused."""
    from jirl.run import load_checkpoint, state_template

    run_dir, _ = airl_run
    cfg = experiment_config(yaml.safe_load((run_dir / "config.yaml").read_text()), airl.AIRLConfig)
    env = envs.make("cartpole")
    demos, _ = _demos(cartpole_expert, cfg.num_demos)
    algo = airl.make(cfg.algo_config, env, demos)
    state, _, _ = load_checkpoint(run_dir / "checkpoint", state_template(algo, AIRL_SEEDS))
    expert_t = adversarial.demo_transitions(demos)
    rewards = jax.vmap(lambda s: algos.learned_reward(cfg.algo_config, env, s)(expert_t))(state)
    assert rewards.shape == (AIRL_SEEDS, expert_t.reward.shape[0])
    assert np.isfinite(rewards).all() and np.abs(np.diff(rewards, axis=0)).max() > 1e-3
    # one seed's g and f are the model's own (no absorbing states on cartpole: no value added)
    one = jax.tree.map(lambda x: x[0], state)
    model = airl.shaped_reward(cfg.algo_config, env)
    for kind, fn in (("g", model.g), ("f", model.f)):
        np.testing.assert_allclose(
            algos.learned_reward(cfg.algo_config, env, one, kind)(expert_t),
            fn(one.disc_params, one.disc_normalizer, expert_t),
            rtol=1e-6,
        )
    with pytest.raises(ConfigError, match="state holds \\(5,\\) runs, not one"):
        algos.learned_reward(cfg.algo_config, env, state)
    with pytest.raises(ConfigError, match="no reward 'disc' of a run of 'airl'"):
        algos.learned_reward(cfg.algo_config, env, one, "disc")
    with pytest.raises(ConfigError, match="takes the config of a GAIL, AIRL, GCL or GAN-GCL"):
        algos.learned_reward(algos.ppo.PPOConfig(), env, one)
    # another config's network, another learner's, another env's: one line, here, not
    # flax's ScopeParamShapeError or a broadcasting error once the reward was called
    wider = dataclasses.replace(cfg.algo_config, disc_hidden=(8,))
    with pytest.raises(ConfigError, match="not one of a airl learner made with this config on "):
        algos.learned_reward(wider, env, one)
    with pytest.raises(ConfigError, match="reward network's tree is not the one this config"):
        algos.learned_reward(gail.GAILConfig(), env, one)
    with pytest.raises(ConfigError, match=r"on acrobot \(at "):
        algos.learned_reward(cfg.algo_config, envs.make("acrobot"), one)
    reward = algos.learned_reward(cfg.algo_config, env, one)
    with pytest.raises(
        ConfigError, match=r"transitions' obs are \(\d+, 2\), not \[..., \*\(4,\)\]"
    ):
        reward(expert_t.replace(obs=expert_t.obs[:, :2]))


@pytest.mark.slow  # with the other users of `airl_run`: the slow tests run first (conftest)
def test_retrain_refuses_a_run_whose_demos_changed_since_it_started(airl_run, tmp_path):
    """A retrained reward is scored against the expert return of the demos the run names: a
    file replaced since (another expert) gave a score of 1.09 for about 0.01."""
    run_dir, _ = airl_run
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    demos = yaml.safe_load((copy / "config.yaml").read_text())["demos"]
    (copy / "inputs.json").write_text(
        json.dumps({"demos": {"path": demos, "sha256": "0" * 64}})  # what it started with
    )
    with pytest.raises(ConfigError, match="the demos at .* differ from those the run started"):
        retrain(copy, "cartpole", tmp_path / "retrain")
    assert not (tmp_path / "retrain").exists()


def test_retrain_rejects_bad_inputs(tmp_path):
    with pytest.raises(ConfigError, match="config.yaml"):
        retrain(tmp_path, "cartpole", tmp_path / "out")
    (tmp_path / "config.yaml").write_text("algo: bc\nenv: cartpole\n")
    with pytest.raises(ConfigError, match="has no reward network to retrain on"):
        retrain(tmp_path, "cartpole", tmp_path / "out")


class _LogProbSpy:
    """A reward model whose logit is −log π as the loop passes it (`t.log_prob`)."""

    def init(self, key):
        return {"w": jnp.zeros(())}

    def logits(self, params, normalizer, t):
        return params["w"] - t.log_prob


def _spy_loss(params, normalizer, batch, key):
    """A loss that reports the log π of each side of the discriminator's minibatch."""
    metrics = {"expert_log_prob": batch.expert.log_prob.mean()}
    metrics["policy_log_prob"] = batch.policy.log_prob.mean()
    return params["w"] ** 2, metrics


def test_log_pi_weight_scales_log_pi_in_the_loss_and_at_relabelling(cartpole_expert):
    """α (`log_pi_weight`) scales log π on both sides of the discriminator's data and in the
    relabelled reward; w (`reward_log_pi_weight`) once more in the reward only."""
    demos, _ = _demos(cartpole_expert, 1)
    env = envs.make("cartpole")

    def one_update(**weights):
        config = airl.AIRLConfig(reward_map="logit", num_envs=2, num_steps=8, **weights)
        algo = adversarial.make(config, env, demos, _LogProbSpy(), _spy_loss, "spy")
        _, metrics = jax.jit(algo.update)(algo.init(jax.random.PRNGKey(0)))
        keys = ("expert_log_prob", "policy_log_prob", "learned_reward")
        return np.array([float(metrics[k]) for k in keys])

    plain = one_update()
    assert (plain[:2] < 0).all() and plain[2] > 0  # log π of two actions, then −log π
    np.testing.assert_allclose(one_update(log_pi_weight=0.5), 0.5 * plain, rtol=1e-5)
    np.testing.assert_allclose(
        one_update(log_pi_weight=0.5, reward_log_pi_weight=0.2),
        plain * [0.5, 0.5, 0.1],
        rtol=1e-5,
    )


def test_absorbing_states_flag_relabel_and_pool():
    """Kostrikov et al. 2019, sec. 4.2: terminal steps lead to the flagged absorbing state, earn
    γ r(s_a)/(1 − γ) beside their own reward, and each terminated episode adds one s_a → s_a
    sample to the discriminator's data."""
    env = envs.make("cartpole")
    spec = env.spec
    config = gail.GAILConfig(absorbing=True, fixed_horizon=False, gamma=0.9)
    assert adversarial.model_spec(config, spec).obs_shape == (5,)
    assert not adversarial.training_env(config, env).fixed_horizon
    obs = np.arange(12, dtype=np.float32).reshape(3, 4)
    t = adversarial.demo_transitions(
        Trajectories(
            obs=obs,
            actions=np.array([0, 1, 1], np.int32),
            rewards=np.ones(3, np.float32),
            next_obs=obs + 100,
            terminated=np.array([False, False, True]),
            truncated=np.zeros(3, bool),
            episode_lengths=np.array([3], np.int32),
        )
    )
    flagged = adversarial.into_absorbing(spec, t)
    np.testing.assert_array_equal(flagged.obs[:, :4], obs)
    np.testing.assert_array_equal(flagged.obs[:, 4], 0.0)
    np.testing.assert_array_equal(flagged.next_obs[:2, :4], obs[:2] + 100)
    np.testing.assert_array_equal(flagged.next_obs[2], [0, 0, 0, 0, 1])
    assert not np.asarray(flagged.terminated).any()

    # a reward of its own: 1 + the flag of s'; s_a → s_a earns 2, worth 0.9 · 2 / 0.1 = 18
    reward_of = lambda x: 1.0 + x.next_obs[..., -1]
    np.testing.assert_allclose(adversarial.relabel(config, spec, reward_of, t), [1, 1, 2 + 18])
    # a learner with another discount (`jirl retrain --set gamma=0.5`): 0.5 · 2 / 0.5 = 2
    np.testing.assert_allclose(adversarial.relabel(config, spec, reward_of, t, 0.5), [1, 1, 2 + 2])
    plain = gail.GAILConfig()
    np.testing.assert_allclose(
        adversarial.relabel(plain, spec, lambda x: x.obs[:, 0], t), [0, 4, 8]
    )

    pool, weights = adversarial.sample_pool(config, spec, t)
    np.testing.assert_array_equal(weights, [1, 1, 1, 1])
    np.testing.assert_array_equal(pool.obs[3], [0, 0, 0, 0, 1])
    np.testing.assert_array_equal(pool.next_obs[3], [0, 0, 0, 0, 1])
    assert int(pool.action[3]) == 0 and float(pool.log_prob[3]) == 0.0
    _, weights = adversarial.sample_pool(config, spec, t.replace(terminated=t.terminated & False))
    np.testing.assert_array_equal(weights, [1, 1, 1, 0])

    # continuous actions: s_a's action is the zero vector
    continuous = envs.make("mountaincar_continuous").spec
    moving = t.replace(obs=obs[:, :2], next_obs=obs[:, :2] + 1, action=jnp.ones((3, 1)))
    pool, weights = adversarial.sample_pool(config, continuous, moving)
    assert pool.obs.shape == (4, 3) and pool.action.shape == (4, 1)
    np.testing.assert_array_equal(pool.action[:, 0], [1, 1, 1, 0])
    np.testing.assert_array_equal(pool.next_obs[2], [0, 0, 1])


def test_fixed_horizon_demos_are_not_terminal_to_the_discriminator():
    """With fixed horizons the policy's steps never terminate; a demo's fall must not either,
    or AIRL's f = g + γh(s') − h(s) would drop γh(s') for the expert's falls only."""
    obs = np.zeros((2, 4), np.float32)
    demos = Trajectories(
        obs=obs,
        actions=np.zeros(2, np.int32),
        rewards=np.ones(2, np.float32),
        next_obs=obs,
        terminated=np.array([False, True]),
        truncated=np.zeros(2, bool),
        episode_lengths=np.array([2], np.int32),
    )
    env = envs.make("cartpole")
    for config, fixed_horizon in [
        (airl.AIRLConfig(), True),
        (airl.AIRLConfig(fixed_horizon=False), False),
        # the top of the experiment fixes the horizon whatever the section says
        (airl.AIRLConfig(fixed_horizon=False), True),
    ]:
        loop_env = adversarial.training_env(config, env.with_options(fixed_horizon=fixed_horizon))
        flat = adversarial.expert_transitions(loop_env, demos)
        np.testing.assert_array_equal(flat.terminated, [False, not fixed_horizon])


def test_replay_pool_draws_only_collected_rounds():
    """A buffer of R = 3 rounds of M = 2 samples: after round 0 only slot 0 may be drawn, after
    round 1 slots 0-1, from round 2 on all; with absorbing states the s_a sample keeps the
    terminated count of the filled rounds."""
    obs = jnp.arange(24, dtype=jnp.float32).reshape(3, 2, 4) + 1
    replay = Transition(
        obs=obs,
        action=jnp.zeros((3, 2), jnp.int32),
        reward=jnp.zeros((3, 2)),
        next_obs=obs,
        terminated=jnp.array([[True, False], [False, False], [False, False]]),
        truncated=jnp.zeros((3, 2), bool),
        log_prob=jnp.zeros((3, 2)),
    )
    plain = lambda t: adversarial.sample_pool(gail.GAILConfig(), envs.make("cartpole").spec, t)
    for step, live in [(0, 2), (1, 4), (2, 6), (7, 6)]:
        samples, weights, n = adversarial.replay_pool(replay, jnp.asarray(step), plain)
        assert int(n) == live
        np.testing.assert_array_equal(weights, np.arange(6) < live)
        np.testing.assert_array_equal(samples.obs, obs.reshape(6, 4))
    config = gail.GAILConfig(absorbing=True, fixed_horizon=False)
    absorbing = lambda t: adversarial.sample_pool(config, envs.make("cartpole").spec, t)
    samples, weights, _ = adversarial.replay_pool(replay, jnp.asarray(0), absorbing)
    np.testing.assert_array_equal(weights, [1, 1, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(samples.obs[-1], [0, 0, 0, 0, 1])


def test_replay_buffer_keeps_the_last_rounds(cartpole_expert):
    """`replay_rounds=2`: round i's samples go to slot i % 2, so after three rounds slot 1 still
    holds round 1's and slot 0 holds round 2's; one round (the default) keeps no buffer."""
    demos, _ = _demos(cartpole_expert, 1)
    env = envs.make("cartpole")
    assert gail.make(gail.GAILConfig(), env, demos).init(jax.random.PRNGKey(0)).replay is None
    for algo in (
        gail.make(gail.GAILConfig(replay_rounds=2, num_envs=2, num_steps=16), env, demos),
        airl.make(airl.AIRLConfig(replay_rounds=2, num_envs=2, num_steps=16), env, demos),
    ):
        state = algo.init(jax.random.PRNGKey(0))
        assert state.replay.obs.shape == (2, 32, 4)
        assert not np.asarray(state.replay.obs).any()
        update = jax.jit(algo.update)
        seen = []
        for _ in range(3):
            state, metrics = update(state)
            seen.append(np.asarray(state.replay.obs))
            assert np.isfinite(metrics["disc_loss"])
        assert seen[0][0].any() and not seen[0][1].any()
        np.testing.assert_array_equal(seen[1][0], seen[0][0])
        np.testing.assert_array_equal(seen[2][1], seen[1][1])
        assert not np.array_equal(seen[2][0], seen[1][0])


def test_absorbing_states_config_is_checked(cartpole_expert):
    with pytest.raises(ConfigError, match="absorbing: true needs .* set fixed_horizon: false"):
        gail.GAILConfig(absorbing=True)
    with pytest.raises(ConfigError, match="absorbing: true needs gamma < 1"):
        airl.AIRLConfig(absorbing=True, fixed_horizon=False, gamma=1.0)
    demos, _ = _demos(cartpole_expert, 1)
    config = gcl.GCLConfig(absorbing=True, fixed_horizon=False)
    with pytest.raises(ConfigError, match="absorbing: true is for GAIL and AIRL"):
        gcl.make(config, envs.make("cartpole"), demos)
    # the section's fixed_horizon: false, but the experiment fixes the horizon at its top
    fixed = envs.make("cartpole", fixed_horizon=True)
    with pytest.raises(ConfigError, match="fixed_horizon: true at the top of the config"):
        gail.make(gail.GAILConfig(absorbing=True, fixed_horizon=False), fixed, demos)


@pytest.mark.slow
def test_gail_with_absorbing_states_learns_acrobot(acrobot_expert, score_seeds):
    """Acrobot ends at the goal. With absorbing states GAIL's paper reward −log(1 − D) learns it
    from one demonstration; with a fixed horizon the same reward keeps the policy short of the
    goal (0.43 over 8 seeds with the benchmark's expert)."""
    env = envs.make("acrobot")
    loaded = data.load(acrobot_expert / "demos.npz", env=env)
    demos, header = data.take_episodes(loaded.trajectories, 1), loaded.header
    assert demos.terminated[-1], "the expert's demonstration should end at the goal"
    config = gail.GAILConfig(absorbing=True, fixed_horizon=False, anneal_updates=100)
    algo = gail.make(config, env, demos)
    _, _, scores = score_seeds(algo, 100, header, SEEDS, env="acrobot")
    assert scores.mean() >= 0.9, scores


def test_retrain_keeps_the_runs_physics_backend():
    """A reward learned on Brax's positional backend is retrained there, not on the default."""
    run = ExperimentConfig(algo="airl", env="hopper", backend="positional", fixed_horizon=True)
    env = target_env(run, "hopper")
    assert env.options_dict() == {"backend": "positional"} and env.fixed_horizon
    assert target_env(ExperimentConfig(algo="gail", env="cartpole"), "cartpole").options == ()


def test_a_bc_warm_start_imitates_before_the_first_round(cartpole_expert):
    """`bc_steps` clones the demonstrations into the generator's policy in `init`: it acts
    like the expert before any adversarial round, where the default starts at random."""
    from jirl.evaluation import episode_returns

    demos, _ = _demos(cartpole_expert, 4)
    env = envs.make("cartpole")
    returns = {}
    for steps in (0, 2000):
        for make, config in ((gail.make, gail.GAILConfig), (airl.make, airl.AIRLConfig)):
            algo = make(config(bc_steps=steps), env, demos)
            state = jax.jit(algo.init)(jax.random.PRNGKey(0))
            act = lambda obs, key: algo.act(state, obs, key)  # noqa: B023
            ret = episode_returns(env, act, jax.random.PRNGKey(1), 16)
            returns[steps, config.__name__] = float(ret.mean())
    assert all(returns[0, name] < 100 for name in ("GAILConfig", "AIRLConfig")), returns
    assert all(returns[2000, name] > 450 for name in ("GAILConfig", "AIRLConfig")), returns
