"""The Python API refuses misuse at the call, with a jirl error that says what to pass: a
review found each of these failing later, inside the first update's trace, with a shape,
attribute or reshape error from JAX or NumPy (or training on nonsense without a word)."""

import subprocess
import sys

import jax
import numpy as np
import pytest

import jirl
from jirl import data, envs
from jirl.algos import airl, bc, dagger, gail, gan_gcl, gcl, smile
from jirl.algos import expert as experts
from jirl.algos.apprenticeship import FEMConfig, GTALConfig, make_fem, make_gtal
from jirl.errors import ConfigError, DataError
from jirl.rl import ppo, trpo
from jirl.types import Algorithm


@pytest.fixture(scope="module")
def loaded(cartpole_expert):
    env = envs.make("cartpole")
    return env, data.load(cartpole_expert / "demos.npz", env=env)


@pytest.mark.parametrize(
    "make",
    [
        lambda env, d: bc.make(bc.BCConfig(), env, d),
        lambda env, d: gail.make(gail.GAILConfig(), env, d),
        lambda env, d: airl.make(airl.AIRLConfig(), env, d),
        lambda env, d: gcl.make(gcl.GCLConfig(), env, d),
        lambda env, d: make_fem(FEMConfig(), env, d),
    ],
    ids=["bc", "gail", "airl", "gcl", "fem"],
)
def test_demos_of_another_environment_or_of_another_type_are_refused_at_make(loaded, make):
    env, demos = loaded
    with pytest.raises(DataError, match="observations of shape \\(4,\\), acrobot's are \\(6,\\)"):
        make(envs.make("acrobot"), demos.trajectories)
    with pytest.raises(DataError, match=r"got Demos \(pass its .trajectories\)"):
        make(env, demos)  # the loaded file, not its trajectories
    with pytest.raises(DataError, match="demos must be jirl Trajectories.*got NoneType"):
        make(env, None)


def test_discrete_demos_on_continuous_actions_are_refused(loaded):
    """(Cartpole's observations, relabelled as another env's with 4 of them, trained BC on
    int actions as if they were continuous: bc_loss 55, no error.)"""
    _, demos = loaded
    t = demos.trajectories
    spec = envs.make("cartpole").spec
    continuous = spec.__class__(spec.obs_shape, False, action_dim=1, action_low=-1, action_high=1)
    with pytest.raises(DataError, match="takes continuous actions of shape \\(1,\\), but"):
        data.check_fits(t, continuous, "a continuous cartpole")
    floats = t.replace(actions=t.actions.astype("float32")[:, None])
    with pytest.raises(DataError, match="2 discrete actions, but the demos' actions are float32"):
        data.check_fits(floats, spec, "cartpole")


@pytest.mark.parametrize(
    "change, message",
    [
        # (a review: BC paired rows 10..499 with the 10th action, JAX clamping the gather)
        (lambda t: t.replace(actions=t.actions[:10]), r"'actions' has shape \(10,\), expected"),
        (lambda t: t.replace(actions=t.actions.at[3].set(7)), r"discrete action outside \[0, 2\)"),
        (lambda t: t.replace(actions=t.actions.at[0].set(-1)), r"discrete action outside \[0, 2\)"),
        (lambda t: t.replace(obs=t.obs.at[5, 1].set(np.nan)), "'obs' contains NaN or inf"),
        (lambda t: t.replace(obs=t.obs[:0], actions=t.actions[:0]), "sums to 500 steps, but 'ob"),
        (lambda t: t.replace(episode_lengths=t.episode_lengths[:0]), "holds zero episodes"),
    ],
    ids=["short-actions", "action-7", "action-minus-1", "nan-obs", "no-rows", "no-episodes"],
)
def test_demos_built_in_python_are_checked_as_a_file_is(loaded, change, message):
    """(Each trained without a word, to an infinite or NaN loss, or failed deep in JAX: BC,
    DAgger and SMILe checked only the shapes per step of the demos a Python caller passes.)"""
    env, demos = loaded
    t = take_jax(data.take_episodes(demos.trajectories, 1))
    for make in (
        lambda d: bc.make(bc.BCConfig(), env, d),
        lambda d: smile.make(smile.SMILeConfig(), env, d, expert=lambda obs, key: 0),
    ):
        with pytest.raises(DataError, match=f"^demos: .*{message}"):
            make(change(t))


def take_jax(t):
    """`t` with JAX arrays, whose `.at` makes the changes above one-liners."""
    return jax.tree.map(jax.numpy.asarray, t)


def test_an_expert_of_another_environment_is_refused_by_dagger_and_smile(loaded, acrobot_expert):
    env, demos = loaded
    other = experts.load(acrobot_expert, envs.make("acrobot"))
    for make, config in ((dagger.make, dagger.DAggerConfig()), (smile.make, smile.SMILeConfig())):
        with pytest.raises(ConfigError, match="the expert cannot act on cartpole's observations"):
            make(config, env, demos.trajectories, expert=other)
    with pytest.raises(ConfigError, match="returns actions of shape \\(3,\\)"):
        dagger.make(dagger.DAggerConfig(), env, expert=lambda obs, key: obs[:3])


@pytest.mark.parametrize(
    "make, config, name",
    [
        (lambda c, env, d: bc.make(c, env, d), gail.GAILConfig(), "BCConfig"),
        (lambda c, env, d: gail.make(c, env, d), airl.AIRLConfig(), "GAILConfig"),
        (lambda c, env, d: airl.make(c, env, d), {"learning_rate": 1e-3}, "AIRLConfig"),
        (lambda c, env, d: ppo.make(c, env), bc.BCConfig(), "PPOConfig"),
        (lambda c, env, d: trpo.make(c, env), ppo.PPOConfig(), "TRPOConfig"),
        (lambda c, env, d: make_gtal(c, env, d), FEMConfig(), "GTALConfig"),
        # a subclass too: GCL given GAN-GCL's config trained GCL, ignoring GAN-GCL's fields
        (lambda c, env, d: gcl.make(c, env, d), gan_gcl.GANGCLConfig(), "GCLConfig"),
    ],
)
def test_another_learners_config_is_refused_by_name(loaded, make, config, name):
    env, demos = loaded
    with pytest.raises(ConfigError, match=f"expected a config of type {name}, got "):
        make(config, env, demos.trajectories)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: bc.BCConfig(batch_size=32.0), "bc.batch_size must be an integer, got 32.0"),
        (lambda: bc.BCConfig(learning_rate="1e-3"), "bc.learning_rate must be a number, got"),
        (lambda: ppo.PPOConfig(num_envs=4.0), "ppo.num_envs must be an integer, got 4.0"),
        (lambda: ppo.PPOConfig(normalize_obs=1), "ppo.normalize_obs must be true or false"),
        (lambda: trpo.TRPOConfig(hidden=(64, 6.4)), "trpo.hidden must be a list of integers"),
        (lambda: gail.GAILConfig(disc_updates=True), "disc_updates must be an integer, got"),
        (lambda: smile.SMILeConfig(max_rounds="3"), "smile.max_rounds must be an integer"),
        (lambda: GTALConfig(num_rounds=2.5), "num_rounds must be an integer, got 2.5"),
        # (a review: NaN or inf from Python trained to NaN; the YAML path refused them)
        (lambda: ppo.PPOConfig(init_log_std=float("nan")), "ppo.init_log_std must be a finite"),
        (lambda: trpo.TRPOConfig(vf_learning_rate=np.inf), "trpo.vf_learning_rate must be a fin"),
        (lambda: gail.GAILConfig(ent_coef=jax.numpy.inf), "ent_coef must be a finite number"),
    ],
)
def test_a_config_field_of_the_wrong_kind_is_refused_at_construction(build, message):
    with pytest.raises(ConfigError, match=message.replace("(", "\\(").replace(")", "\\)")):
        build()


def test_values_of_the_right_kind_in_another_container_are_taken():
    """Sweeps rebuild configs with JAX values (bfloat16 too), and arrays of ints were taken
    before the check: they still are."""
    bc.BCConfig(learning_rate=jax.numpy.float32(1e-3))
    bc.BCConfig(learning_rate=jax.numpy.bfloat16(1e-3))
    jax.jit(lambda lr: bc.BCConfig(learning_rate=lr).learning_rate)(1e-3)
    bc.BCConfig(hidden=np.array([32, 32]), batch_size=jax.numpy.int32(64))


def test_a_discrete_expert_must_return_one_index():
    """An oracle of `argmax(..., keepdims=True)` passed a size check, and DAgger's labels came
    out `[N, 1]`."""
    env = envs.make("cartpole")
    with pytest.raises(ConfigError, match="returns actions of shape \\(1,\\), cartpole's are"):
        dagger.make(dagger.DAggerConfig(), env, expert=lambda obs, key: obs[:1].astype(int))
    dagger.make(dagger.DAggerConfig(), env, expert=lambda obs, key: (obs[0] > 0).astype(int))


def test_episode_counts_and_tabular_demos_of_the_wrong_kind_are_refused(loaded):
    """(`collect(..., 0)` returned nothing and -1 raised JAX's TypeError; `take_episodes` of
    2.5 a slice TypeError; tabular demos of lists or None an AttributeError.)"""
    from jirl.tabular import mdp as mdp_lib
    from jirl.tabular import metrics

    env, demos = loaded
    for bad in (0, -1, 2.5, 2**31):  # (past int32, a count wraps inside jit)
        with pytest.raises(ConfigError, match="num_episodes must be"):
            data.collect(env, lambda obs, key: 0, jax.random.PRNGKey(0), bad)
    with pytest.raises(ConfigError, match="num_updates must be at most 2,147,483,647"):
        jirl.run(Algorithm(lambda k: {}, lambda s: (s, {}), None), jax.random.PRNGKey(0), 2**40)
    with pytest.raises(DataError, match="asked for 2.5 demonstration episodes"):
        data.take_episodes(demos.trajectories, 2.5)
    grid = mdp_lib.gridworld(3)
    with pytest.raises(DataError, match="demos.states must be an array .*, got list"):
        metrics.validate_demos(grid, metrics.Demos(states=[[0, 1]], actions=[[0, 0]]))
    with pytest.raises(DataError, match="demos must be tabular Demos .*, got None"):
        metrics.validate_demos(grid, None)


def test_jirl_imports_on_a_jax_that_removed_the_table_tfp_writes_into():
    """TFP's JAX substrate (under distrax) writes into `jax.core.pytype_aval_mappings`, which
    JAX 0.10 deprecates; on a JAX without it, `import distrax` raised AttributeError and jirl
    could not be imported (`jirl.compat`). Simulated by dropping the deprecated name."""
    code = (
        "import jax.core\n"
        "jax.core._deprecations.pop('pytype_aval_mappings', None)\n"
        "import jirl.nets, distrax\n"
        "print(float(distrax.Normal(0.0, 1.0).log_prob(0.0)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert abs(float(done.stdout) + 0.9189385) < 1e-5  # log N(0; 0, 1) = -log √(2π)


def test_jirl_run_refuses_what_is_not_a_key_a_batch_of_states_or_a_list_of_callbacks(
    loaded, acrobot_expert
):
    """(A review as a notebook user: JAX's "invalid PRNG key data", a `device_put` sharding
    error for an unbatched state, an AttributeError deep in the update for another learner's
    states, "'function' object is not iterable".)"""
    env, demos = loaded
    algo = bc.make(bc.BCConfig(), env, demos.trajectories)
    key = jax.random.PRNGKey(0)
    for bad in (0, jax.numpy.zeros(2), jax.numpy.zeros(3, jax.numpy.uint32)):
        with pytest.raises(ConfigError, match="key must be a PRNG key"):
            jirl.run(algo, bad, 1)
    states = jax.vmap(algo.init)(jax.random.split(key, 2))
    unbatched = algo.init(key)
    other = jax.vmap(ppo.make(ppo.PPOConfig(num_envs=2, num_steps=8), env).init)(
        jax.random.split(key, 2)
    )
    acrobot = envs.make("acrobot")
    acrobot_demos = data.load(acrobot_expert / "demos.npz", env=acrobot).trajectories
    for_acrobot = jax.vmap(bc.make(bc.BCConfig(), acrobot, acrobot_demos).init)(
        jax.random.split(key, 2)
    )
    for bad, message in (
        (unbatched, "must be a batch of states"),
        (for_acrobot, "is not 2 states of 'bc' \\(at .*: shape \\(2, 6, 64\\) float32 where"),
        (other, "is not a state of 'bc'"),
        ({}, "must be a batch of states"),
    ):
        with pytest.raises(ConfigError, match=message):
            jirl.run(algo, key, 1, initial_state=bad)
    with pytest.raises(ConfigError, match="callbacks takes a list"):
        jirl.run(algo, key, 1, callbacks=lambda *a: None)
    assert jirl.run(algo, key, 1, initial_state=states).layout.seeds == 2
    assert jirl.run(algo, key, 1, seeds=2, initial_state=states).layout.seeds == 2
    with pytest.raises(ConfigError, match="seeds=3 but initial_state holds 2 states"):
        jirl.run(algo, key, 1, seeds=3, initial_state=states)  # (ran 2 without a word)


def test_retrain_reward_fn_refuses_a_kind_the_run_does_not_offer(loaded):
    """(`reward_fn("airl", ..., "q", ...)` returned AIRL's f without a word.)"""
    from jirl import algos

    env, _ = loaded
    for algo_name, kind in (("airl", "q"), ("gail", "g"), ("bc", "disc")):
        with pytest.raises(ConfigError, match=f"no reward '{kind}' of a run of '{algo_name}'"):
            algos.reward_fn(algo_name, airl.AIRLConfig(), env, {}, None, kind, 0.99)


def test_demos_saved_with_another_env_are_refused_for_their_spaces(loaded, tmp_path):
    """(Cartpole's demos saved with pendulum were refused for an episode longer than
    pendulum's horizon, a field the header sets from the env.)"""
    env, demos = loaded
    out = tmp_path / "d.npz"
    with pytest.raises(DataError, match="not written: demos have observations of shape \\(4,\\)"):
        data.save(out, demos.trajectories, envs.make("pendulum"))
    assert not out.exists()


def test_a_directory_for_a_file_and_a_file_for_a_directory_are_refused(loaded, tmp_path):
    """(`data.save` into a directory raised IsADirectoryError, `jirl.run` with a file for
    its checkpoint_dir FileExistsError.)"""
    env, demos = loaded
    with pytest.raises(ConfigError, match="is a directory; name the file to write"):
        data.save(tmp_path, demos.trajectories, env)
    taken = tmp_path / "taken"
    taken.write_text("mine")
    algo = Algorithm(lambda k: {"x": jax.numpy.zeros(())}, lambda s: (s, {"loss": s["x"]}), None)
    with pytest.raises(ConfigError, match="checkpoint_dir .* is a file; name a directory"):
        jirl.run(algo, jax.random.PRNGKey(0), 1, checkpoint_dir=taken)
    assert taken.read_text() == "mine"


def test_sweep_batches_and_reward_functions_of_the_wrong_kind_are_refused(loaded):
    """(A grid field without values: JAX's "need at least one array to concatenate"; 0 seeds:
    empty arrays; `init_sweep` given fewer values than keys: an IndexError; a `reward_fn` that
    is not a function: accepted, then a TypeError inside the trace.)"""
    from jirl import sweep

    env, _ = loaded
    key = jax.random.PRNGKey(0)
    with pytest.raises(ConfigError, match="gives \\['learning_rate'\\] no values"):
        sweep.batch({"learning_rate": ()}, key, 2)
    with pytest.raises(ConfigError, match="seeds must be"):
        sweep.batch({"learning_rate": (1e-3,)}, key, 0)
    swept = sweep.sweep_algorithm(lambda c: bc.make(c, env, loaded[1].trajectories),
                                  bc.BCConfig(), ("learning_rate",), "bc")  # fmt: skip
    keys, values, _ = sweep.batch({"learning_rate": (1e-3, 1e-4)}, key, 2)
    with pytest.raises(ConfigError, match="one value per key, \\[4\\]"):
        sweep.init_sweep(swept, keys, {"learning_rate": values["learning_rate"][:3]})
    with pytest.raises(ConfigError, match="reward_fn must be a function"):
        ppo.make(ppo.PPOConfig(), env, reward_fn=3)


@pytest.mark.parametrize(
    "reward_fn, got",
    [
        (lambda t: -jax.numpy.linalg.norm(t.obs), r"float32\[\]"),  # one number for the batch
        (lambda t: t.obs[..., :1], r"float32\[16, 4, 1\]"),  # a trailing axis
        (lambda t: t.action, r"int32\[16, 4\]"),  # integer rewards
    ],
)
def test_a_reward_fn_of_the_wrong_shape_or_kind_is_refused_at_make(loaded, reward_fn, got):
    """(A scalar reward failed with a vmap rank error 7 frames deep in the advantages, a
    trailing axis with a chex AssertionError, an int reward in the scan's carry types.)"""
    env, _ = loaded
    config = ppo.PPOConfig(num_envs=4, num_steps=16)
    for make in (ppo.make, trpo.make):
        with pytest.raises(ConfigError, match=r"one float reward per transition, \[T, B\] = "
                           rf"\[16, 4\] .*got {got}"):  # fmt: skip
            make(config if make is ppo.make else trpo.TRPOConfig(num_envs=4, num_steps=16),
                 env, reward_fn)  # fmt: skip
    ppo.make(config, env, lambda t: -jax.numpy.sum(t.obs**2, -1))  # [T, B]: taken
    with pytest.raises(ConfigError, match=r"reward_fn failed on transitions .*AttributeError"):
        ppo.make(config, env, lambda t: t.state)  # its own error, as one line


def test_act_on_an_observation_of_another_shape_is_refused(loaded):
    """(`act(state, zeros(3), key)` on cartpole: "sub got incompatible shapes" from the
    normaliser.)"""
    env, demos = loaded
    algo = bc.make(bc.BCConfig(), env, demos.trajectories)
    state = algo.init(jax.random.PRNGKey(0))
    with pytest.raises(ConfigError, match="observations of shape \\(3,\\) for a policy of"):
        algo.act(state, jax.numpy.zeros(3), jax.random.PRNGKey(1))
    assert algo.act(state, jax.numpy.zeros(4), jax.random.PRNGKey(1)).shape == ()


def test_an_update_given_another_algorithms_state_says_so(loaded):
    """(An AttributeError from inside the update: "'AgentState' object has no attribute ...".)"""
    env, demos = loaded
    key = jax.random.PRNGKey(0)
    learner = bc.make(bc.BCConfig(), env, demos.trajectories)
    agent = ppo.make(ppo.PPOConfig(num_envs=2, num_steps=8), env)
    with pytest.raises(ConfigError, match="bc's update takes the state its init returns \\(BCSt"):
        learner.update(agent.init(key))
    with pytest.raises(ConfigError, match="ppo's update takes .* got BCState"):
        jax.jit(agent.update)(learner.init(key))
    # a state of another config of the same learner: 4 environments trained under one made
    # for 2 (reporting 2's env steps), without a word
    four = ppo.make(ppo.PPOConfig(num_envs=4, num_steps=8), env).init(key)
    with pytest.raises(ConfigError, match="steps 2 environments, but the state holds a batch"):
        jax.jit(agent.update)(four)
    gail_two = gail.make(gail.GAILConfig(num_envs=2, num_steps=8), env, demos.trajectories)
    gail_four = gail.make(gail.GAILConfig(num_envs=4, num_steps=8), env, demos.trajectories)
    with pytest.raises(ConfigError, match="gail's update steps 2 environments"):
        jax.eval_shape(gail_two.update, gail_four.init(key))


def test_jirl_run_takes_a_partial_sweep_and_states_made_from_typed_keys(loaded, tmp_path):
    """(A review: `init_sweep` given some of the swept fields, as documented, made a state
    whose tree `jirl.run`'s new check refused; states initialised from `jax.random.key`s
    failed in NumPy's dtype reading.)"""
    from jirl import sweep

    env, demos = loaded
    swept = sweep.sweep_algorithm(lambda c: bc.make(c, env, demos.trajectories), bc.BCConfig(),
                                  ("learning_rate", "ent_coef"), "bc")  # fmt: skip
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    partial = sweep.init_sweep(swept, keys, {"learning_rate": np.array([1e-3, 1e-4])})
    assert float(partial.hyperparams["ent_coef"][1]) == bc.BCConfig().ent_coef
    result = jirl.run(swept.algo, keys[0], 2, initial_state=partial, checkpoint_dir=tmp_path)
    assert result.layout.seeds == 2
    algo = bc.make(bc.BCConfig(), env, demos.trajectories)
    typed = jax.vmap(algo.init)(jax.random.split(jax.random.key(0), 2))
    from_typed = jirl.run(algo, keys[0], 2, initial_state=typed, checkpoint_dir=tmp_path / "t")
    from_raw = jirl.run(algo, keys[0], 2, initial_state=jax.vmap(algo.init)(keys))
    for a, b in zip(
        jax.tree.leaves(from_typed.state), jax.tree.leaves(from_raw.state), strict=True
    ):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "make",
    [
        lambda env, d: bc.make(bc.BCConfig(batch_size=32), env, d),
        lambda env, d: ppo.make(ppo.PPOConfig(num_envs=2, num_steps=8), env),
        lambda env, d: gail.make(
            gail.GAILConfig(num_envs=2, num_steps=8, disc_batch_size=16), env, d
        ),
    ],
    ids=["bc", "ppo", "gail"],
)
def test_an_update_may_donate_a_state_init_made_outside_jit(loaded, make):
    """An eager init's state held one array twice (obs and final_obs after the reset; GAIL's
    two normalisers) and XLA refused to donate it ("donate the same buffer twice"); BC's
    normaliser was the array `make` fitted, deleted for every later init by a donated update."""
    env, demos = loaded
    algo = make(env, demos.trajectories)
    step = jax.jit(algo.update, donate_argnums=0)
    state, _ = step(algo.init(jax.random.PRNGKey(0)))
    state, _ = step(state)
    again = algo.init(jax.random.PRNGKey(1))  # nothing of it was donated
    jax.block_until_ready(jax.tree.leaves(again))
    assert int(algo.act(again, np.zeros(4, np.float32), jax.random.PRNGKey(2))) in (0, 1)


def test_traced_demos_and_fields_that_are_not_arrays_are_refused(loaded):
    """(vmap over demonstrations: a TracerArrayConversionError from NumPy inside the checks;
    a list for `obs`: AttributeError 'list' object has no attribute 'dtype'.)"""
    env, demos = loaded
    t = data.take_episodes(demos.trajectories, 1)
    stacked = jax.tree.map(lambda x: np.stack([x, x]), t)
    with pytest.raises(DataError, match="demos are traced .* make one learner per set of demos"):
        jax.vmap(lambda d: bc.make(bc.BCConfig(), env, d).init(jax.random.PRNGKey(0)))(stacked)
    with pytest.raises(DataError, match="demos.obs must be an array .*, got list"):
        bc.make(bc.BCConfig(), env, t.replace(obs=np.asarray(t.obs).tolist()))
