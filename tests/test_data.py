import json
import os
import zipfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import serialization

from jirl import DataError, data, envs
from jirl.types import Trajectories


@pytest.fixture(scope="module")
def cartpole():
    return envs.make("cartpole", horizon=30)


@pytest.fixture(scope="module")
def demos(cartpole):
    act = lambda obs, key: jax.random.randint(key, (), 0, 2)
    return data.collect(cartpole, act, jax.random.PRNGKey(0), 5)


def test_collect_holds_whole_episodes(demos):
    assert demos.num_episodes == 5
    assert int(demos.episode_lengths.sum()) == demos.num_transitions
    ends = np.cumsum(demos.episode_lengths) - 1
    assert (demos.terminated[ends] | demos.truncated[ends]).all()
    np.testing.assert_allclose(data.episode_returns(demos), demos.episode_lengths)  # reward 1/step


def test_roundtrip_exact(tmp_path, cartpole, demos):
    path = data.save(tmp_path / "d.npz", demos, cartpole, expert_return=30.0, random_return=20.0)
    loaded = data.load(path, env=cartpole)
    for field in data.FIELDS:
        a, b = np.asarray(getattr(demos, field)), getattr(loaded.trajectories, field)
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert loaded.header.expert_return == 30.0 and loaded.header.random_return == 20.0
    assert loaded.header.env == "cartpole"


def write(path, demos, cartpole, **changes):
    """Save valid demos, then rewrite the npz with `changes` (None deletes a field)."""
    data.save(path, demos, cartpole, expert_return=30.0)
    with np.load(path) as npz:
        fields = {k: npz[k] for k in npz.files}
    for k, v in changes.items():
        if v is None:
            fields.pop(k)
        else:
            fields[k] = v
    np.savez(path, **fields)
    return path


def header_with(demos, cartpole, **changes):
    h = {
        "format_version": 1,
        "env": "cartpole",
        "obs_shape": [4],
        "action": {"discrete": True, "n": 2},
        "num_episodes": demos.num_episodes,
        "num_transitions": demos.num_transitions,
        "expert_return": 30.0,
        "random_return": None,
    }
    h.update(changes)
    return np.frombuffer(json.dumps(h).encode(), np.uint8)


def test_missing_file(tmp_path, cartpole):
    with pytest.raises(DataError, match="no such demonstration file"):
        data.load(tmp_path / "nope.npz", env=cartpole)


def test_not_an_npz(tmp_path, cartpole):
    p = tmp_path / "x.npz"
    p.write_text("hello")
    with pytest.raises(DataError, match="not an .npz archive") as e:
        data.load(p, env=cartpole)
    assert "pickle" not in str(e.value)  # NumPy's advice to allow pickling is not ours to give


def test_truncated(tmp_path, cartpole, demos):
    p = data.save(tmp_path / "d.npz", demos, cartpole)
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match=f"{p}.*not a readable .npz file"):
        data.load(p, env=cartpole)


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"actions": None}, "field 'actions' is missing"),
        ({"obs": np.zeros((3, 4), np.float32)}, "field 'obs' has shape"),
        ({"rewards": "BAD_DTYPE"}, "field 'rewards' has dtype"),
        ({"actions": "OUT_OF_RANGE"}, "discrete action outside"),
        ({"obs": "NAN"}, "field 'obs' contains NaN"),
        ({"episode_lengths": np.zeros((0,), np.int32)}, "zero episodes"),
        ({"header": "VERSION"}, "format_version"),
        ({"header": "NOT_JSON"}, "not valid JSON"),
        ({"header": "RANDOM_NOT_A_NUMBER"}, "'header.random_return' must be a finite number"),
        ({"header": "RANDOM_NAN"}, "'header.random_return' must be a finite number"),
        ({"header": "VERSION_TRUE"}, "'header.format_version' is True; this jirl reads version"),
        ({"header": "EXPERT_BOOL"}, "'header.expert_return' must be a finite number"),
        ({"header": "RANDOM_IS_EXPERT"}, "is not above 'random_return'.*no score can be normal"),
        ({"header": "RANDOM_ABOVE_EXPERT"}, r"\(30.0\) is not above 'random_return' \(40.0\)"),
        ({"obs": "FLOAT32_OVERFLOW"}, "'obs' contains NaN or inf, or values beyond float32's"),
        ({"obs": "HUGE", "next_obs": "HUGE"}, "'obs' holds values up to 1e\\+30, beyond ±1e\\+18"),
        ({"header": "N_TRUE"}, r"'header.action.n' must be an integer in \[1, 2,147,483,647\]"),
        ({"header": "N_HUGE"}, r"'header.action.n' must be an integer in \[1, 2,147,483,647\]"),
        ({"header": "KEY_TWICE"}, "'header' is not valid JSON: key 'expert_return' is given twice"),
        ({"header": "SHORT_HORIZON"}, "an episode longer than the horizon, 2"),
        ({"terminated": "EARLY_END"}, "'terminated' is set on a step that is not its episode's"),
        ({"terminated": "NO_FLAG", "truncated": "NO_FLAG"}, "episode 0's last step .* neither"),
        ({"terminated": "AT_ENDS", "truncated": "AT_ENDS"}, "episode 0's last step .* both"),
        ({"next_obs": "SHIFTED"}, "'next_obs' at step 0 differs from 'obs' at step 1"),
        (
            {"header": "EPISODES_FLOAT"},
            r"'header.num_episodes' must be an integer in \[0, 2,147,483,647\], got \d+\.0",
        ),
        ({"header": "DISCRETE_STRING"}, "'discrete': true or false"),
        ({"header": "ENV_NUMBER"}, "'header.env' must be an environment name, got 5"),
        ({"header": "OBS_SHAPE_BOOL"}, r"'header.obs_shape' must be a list of integers in \[1, "),
        ({"header": "OBS_SHAPE_HUGE"}, r"'header.obs_shape' must be a list of integers in \[1, "),
        ({"header": "FIXED_STRING"}, "'header.fixed_horizon' must be true or false, got 'no'"),
    ],
)
def test_bad_fields(tmp_path, cartpole, demos, changes, match):
    n = demos.num_transitions
    resolved = {}
    for k, v in changes.items():
        if isinstance(v, str):
            v = {
                "BAD_DTYPE": np.zeros(n, np.int64).astype(np.complex64),
                "OUT_OF_RANGE": np.full(n, 7, np.int32),
                "NAN": np.full((n, 4), np.nan, np.float32),
                "VERSION": header_with(demos, cartpole, format_version=99),
                "NOT_JSON": np.frombuffer(b"{nope", np.uint8),
                "RANDOM_NOT_A_NUMBER": header_with(demos, cartpole, random_return="abc"),
                "RANDOM_NAN": header_with(demos, cartpole, random_return=float("nan")),
                "VERSION_TRUE": header_with(demos, cartpole, format_version=True),
                "EXPERT_BOOL": header_with(demos, cartpole, expert_return=True),
                "RANDOM_IS_EXPERT": header_with(demos, cartpole, random_return=30.0),
                "RANDOM_ABOVE_EXPERT": header_with(demos, cartpole, random_return=40.0),
                "FLOAT32_OVERFLOW": np.full((n, 4), 1e300, np.float64),  # finite in float64 only
                "HUGE": np.full((n, 4), 1e30, np.float32),  # finite, but squares overflow
                "N_TRUE": header_with(demos, cartpole, action={"discrete": True, "n": True}),
                "N_HUGE": header_with(demos, cartpole, action={"discrete": True, "n": 10**400}),
                "OBS_SHAPE_HUGE": header_with(demos, cartpole, obs_shape=[10**400]),
                "KEY_TWICE": np.frombuffer(
                    header_with(demos, cartpole).tobytes()[:-1] + b', "expert_return": 1}', np.uint8
                ),
                "SHORT_HORIZON": header_with(demos, cartpole, horizon=2),
                "EARLY_END": np.arange(n) == 0,
                "NO_FLAG": np.zeros(n, bool),
                "AT_ENDS": np.isin(np.arange(n), np.cumsum(demos.episode_lengths) - 1),
                "SHIFTED": np.asarray(demos.next_obs) + 1.0,
                # each compared equal to what it should have been (5.0 == 5, "no" is truthy)
                "EPISODES_FLOAT": header_with(
                    demos, cartpole, num_episodes=float(demos.num_episodes)
                ),
                "DISCRETE_STRING": header_with(demos, cartpole, action={"discrete": "no", "n": 2}),
                "ENV_NUMBER": header_with(demos, cartpole, env=5),
                "OBS_SHAPE_BOOL": header_with(demos, cartpole, obs_shape=[True, 4]),
                "FIXED_STRING": header_with(demos, cartpole, fixed_horizon="no"),
            }[v]
        resolved[k] = v
    p = write(tmp_path / "d.npz", demos, cartpole, **resolved)
    with pytest.raises(DataError, match=match):
        data.load(p, env=cartpole)


def test_obs_size_not_the_envs(tmp_path, demos, cartpole):
    p = data.save(tmp_path / "d.npz", demos, cartpole)
    with pytest.raises(DataError, match="header.env"):
        data.load(p, env=envs.make("acrobot"))
    t = Trajectories(
        obs=np.zeros((4, 6), np.float32),
        actions=np.zeros(4, np.int32),
        rewards=np.zeros(4, np.float32),
        next_obs=np.zeros((4, 6), np.float32),
        terminated=np.zeros(4, bool),
        truncated=np.array([0, 0, 0, 1], bool),
        episode_lengths=np.array([4], np.int32),
    )
    p = data.save(tmp_path / "a.npz", t, envs.make("acrobot"))
    with pytest.raises(DataError, match="header.env' is 'acrobot'"):
        data.load(p, env=cartpole)
    # a file without env_options (as older ones are) that names cartpole: its shapes decide
    with np.load(p) as npz:
        fields = {k: npz[k] for k in npz.files}
    fields["header"] = header_with(t, cartpole, obs_shape=[6])
    np.savez(p, **fields)
    with pytest.raises(DataError, match=r"observations of shape \(6,\), the environment's are"):
        data.load(p, env=cartpole)
    three = write(tmp_path / "n3.npz", demos, cartpole, header=header_with(
        demos, cartpole, action={"discrete": True, "n": 3}))  # fmt: skip
    with pytest.raises(DataError, match="'actions' is for action space"):
        data.load(three, env=cartpole)


def test_object_array_needs_pickle_and_is_refused(tmp_path, demos, cartpole):
    p = tmp_path / "d.npz"
    write(p, demos, cartpole)
    with np.load(p) as npz:
        fields = {k: npz[k] for k in npz.files}
    fields["rewards"] = np.array([object()] * demos.num_transitions, dtype=object)
    np.savez(p, **fields)  # writes a pickled object array
    with pytest.raises(DataError, match="cannot be read without pickle"):
        data.load(p, env=cartpole)


def test_a_header_declaring_more_than_its_member_holds_is_corrupt(tmp_path, demos, cartpole):
    """obs.npy's header edited to shape (10^11, 4): np.load asked for 1.6 TB and the CLI said
    "out of host memory" rather than that the file is corrupt."""
    import io

    p = tmp_path / "d.npz"
    write(p, demos, cartpole)
    with zipfile.ZipFile(p) as z:
        members = {name: z.read(name) for name in z.namelist()}
    obs = np.lib.format.read_array(io.BytesIO(members["obs.npy"]))
    forged = io.BytesIO()
    header = {"descr": obs.dtype.str, "fortran_order": False, "shape": (10**11, 4)}
    np.lib.format.write_array_header_1_0(forged, header)
    members["obs.npy"] = forged.getvalue() + obs.tobytes()
    with zipfile.ZipFile(p, "w") as z:
        for name, raw in members.items():
            z.writestr(name, raw)
    with pytest.raises(DataError, match=r"field 'obs' declares \(100000000000, 4\) float32"):
        data.load(p, env=cartpole)


def test_data_error_is_one_line(tmp_path, cartpole):
    with pytest.raises(DataError) as info:
        data.load(tmp_path / "nope.npz", env=cartpole)
    assert "\n" not in str(info.value)


def test_zip_is_not_mistaken(tmp_path, cartpole):
    p = tmp_path / "z.npz"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("other.txt", "x")
    with pytest.raises(DataError, match="field 'header' is missing"):
        data.load(p, env=cartpole)


def test_members_that_are_not_npy_arrays_are_refused(tmp_path, cartpole):
    """A zip whose members have the right names but are not .npy files (np.load hands back
    their bytes) is one DataError, not an AttributeError."""
    p = tmp_path / "z.npz"
    with zipfile.ZipFile(p, "w") as z:
        for name in ("header", *data.FIELDS):
            z.writestr(name, "not an array")
    with pytest.raises(DataError, match="field 'header' is not a .npy array; re-save"):
        data.load(p, env=cartpole)


def brax_demos(env, episodes=2, length=3):
    """Hand-made demonstrations in a Brax env's spaces (no physics is run)."""
    n = episodes * length
    obs = np.zeros((n, *env.spec.obs_shape), np.float32)
    return Trajectories(
        obs=obs,
        actions=np.zeros((n, env.spec.action_dim), np.float32),
        rewards=np.ones(n, np.float32),
        next_obs=obs,
        terminated=np.zeros(n, bool),
        truncated=np.tile(np.arange(length) == length - 1, episodes),
        episode_lengths=np.full(episodes, length, np.int32),
    )


def test_demos_record_the_physics_backend_and_refuse_another(tmp_path):
    spring = envs.make("inverted_pendulum", backend="spring")
    path = data.save(tmp_path / "d.npz", brax_demos(spring), spring)
    assert data.load(path, env=spring).header.env_options == {"backend": "spring"}
    with pytest.raises(DataError, match=r"backend='spring'.*backend='generalized'.*--set backend"):
        data.load(path, env=envs.make("inverted_pendulum"))


def test_demos_record_a_tabular_worlds_layout(tmp_path):
    world = envs.make("gridworld", size=4, slip=0.1)
    demos = data.collect(world, lambda obs, key: 0, jax.random.PRNGKey(0), 2)
    path = data.save(tmp_path / "d.npz", demos, world)
    data.load(path, env=envs.make("gridworld", size=4, slip=0.1))
    with pytest.raises(DataError, match="slip=0.1"):
        data.load(path, env=envs.make("gridworld", size=4, slip=0.3))


def test_demos_written_before_env_options_still_load(tmp_path, demos, cartpole):
    # header_with writes the header of a file from before `env_options` was recorded
    path = write(tmp_path / "d.npz", demos, cartpole, header=header_with(demos, cartpole))
    assert data.load(path, env=cartpole).header.env_options is None


def test_env_options_must_be_an_object(tmp_path, demos, cartpole):
    header = header_with(demos, cartpole, env_options=["spring"])
    path = write(tmp_path / "d.npz", demos, cartpole, header=header)
    with pytest.raises(DataError, match="header.env_options"):
        data.load(path, env=cartpole)
    # options cartpole has none of: the advice was "make the environment with backend=5"
    header = header_with(demos, cartpole, env_options={"backend": 5})
    path = write(tmp_path / "e.npz", demos, cartpole, header=header)
    with pytest.raises(DataError, match="backend=5, which cartpole does not take .*not cartpole's"):
        data.load(path, env=cartpole)


def test_an_expert_records_the_physics_backend_and_refuses_another(tmp_path):
    from jirl.algos import expert as experts
    from jirl.nets import Normalizer, Policy
    from jirl.rl.ppo import PPOConfig

    spring = envs.make("inverted_pendulum", backend="spring")
    policy = Policy(spring.spec)
    # not the template `load` restores into: the parameters must come from the file
    params = jax.tree.map(lambda x: x + 1.0, policy.init(jax.random.PRNGKey(0)))
    obs = jax.random.normal(jax.random.PRNGKey(1), (64, *spring.spec.obs_shape))
    normalizer = Normalizer.create(spring.spec.obs_shape).update(obs)
    saved = experts.Expert(policy, params, normalizer, 1000.0, 10.0)
    experts.save(tmp_path, saved, spring, PPOConfig())
    loaded = experts.load(tmp_path, spring)
    assert (loaded.expert_return, loaded.random_return) == (1000.0, 10.0)
    for a, b in zip(jax.tree.leaves((params, normalizer)), jax.tree.leaves((loaded.params,
                    loaded.normalizer)), strict=True):  # fmt: skip
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(loaded.mode(obs), saved.mode(obs))
    with pytest.raises(DataError, match=r"env_options.*backend='spring'"):
        experts.load(tmp_path, envs.make("inverted_pendulum", backend="positional"))


def test_demos_and_experts_record_the_horizon_and_refuse_another(tmp_path, demos, cartpole):
    """The expert's return is the 1 of the normalized score: under another time limit it is
    not comparable, so a file from one horizon is refused by an env of another."""
    from jirl.algos import expert as experts
    from jirl.nets import Normalizer, Policy
    from jirl.rl.ppo import PPOConfig

    path = data.save(tmp_path / "d.npz", demos, cartpole)
    assert data.load(path, env=cartpole).header.horizon == 30
    longer = envs.make("cartpole", horizon=500)
    with pytest.raises(DataError, match=r"header.horizon.*--set horizon=30"):
        data.load(path, env=longer)
    policy = Policy(cartpole.spec)
    saved = experts.Expert(
        policy, policy.init(jax.random.PRNGKey(0)), Normalizer.create((4,)), 30.0, 20.0
    )
    experts.save(tmp_path / "expert", saved, cartpole, PPOConfig())
    assert experts.load(tmp_path / "expert", cartpole).expert_return == 30.0
    with pytest.raises(DataError, match="field 'horizon': recorded with horizon 30"):
        experts.load(tmp_path / "expert", longer)


def test_demos_record_a_fixed_horizon_and_a_terminating_learner_refuses_them(tmp_path, cartpole):
    """Fixed-horizon episodes run on past a fall, flagged neither terminated nor truncated
    there: taken by a learner whose episodes end at a fall, they read as an expert that never
    falls (30-step episodes of returns 11 and 10, none terminated). Learners that collect with
    a fixed horizon themselves (GAIL's default, FEM, GTAL, which asks for such demos) take them."""
    from jirl import algos
    from jirl.config import experiment_config
    from jirl.errors import DataError as Refused
    from jirl.experiment import prepare

    fixed = envs.make("cartpole", horizon=30, fixed_horizon=True)
    always_right = lambda o, k: jax.numpy.int32(1)
    recorded = data.collect(fixed, always_right, jax.random.PRNGKey(0), 2)
    path = data.save(tmp_path / "d.npz", recorded, fixed, random_return=5.0)
    assert data.load(path, env=cartpole).header.fixed_horizon is True
    unfixed = data.collect(cartpole, always_right, jax.random.PRNGKey(0), 2)
    plain = data.save(tmp_path / "p.npz", unfixed, cartpole, random_return=5.0)
    assert data.load(plain, env=cartpole).header.fixed_horizon is False

    def build(algo, demos, **top):
        raw = {"algo": algo, "env": "cartpole", "horizon": 30, "demos": str(demos), **top}
        return prepare(experiment_config(raw, algos.get(algo).config_cls))

    with pytest.raises(Refused, match="recorded with a fixed horizon .* 'bc' here learns from"):
        build("bc", path)
    build("bc", path, fixed_horizon=True)
    build("bc", plain)
    build("gail", path)  # the loop collects with a fixed horizon by default
    with pytest.raises(Refused, match="fixed_horizon: true at the top of the config"):
        build("gail", path, gail={"absorbing": True, "fixed_horizon": False})
    # a file from before the field was recorded is not checked
    header = header_with(recorded, fixed, horizon=30)
    old = write(tmp_path / "o.npz", recorded, fixed, header=header)
    assert data.load(old, env=cartpole).header.fixed_horizon is None


@pytest.mark.parametrize("horizon", [0, 10**400])
def test_horizon_must_be_a_positive_int32(tmp_path, demos, cartpole, horizon):
    """(A horizon of 400 digits passed, and the mismatch message quoted every digit.)"""
    header = header_with(demos, cartpole, horizon=horizon)
    path = write(tmp_path / "d.npz", demos, cartpole, header=header)
    with pytest.raises(DataError, match=r"header.horizon' must be an integer in \[1, ") as e:
        data.load(path, env=cartpole)
    assert len(str(e.value)) < 300


def test_a_header_of_many_keys_is_refused_at_once_in_one_short_line(tmp_path, demos, cartpole):
    """40,000 unknown keys took 15 s (a duplicate check per key that counted them all, now a
    set), and the message listed every one (389 KB)."""
    header = header_with(demos, cartpole, **{f"k{i}": i for i in range(40_000)})
    path = write(tmp_path / "d.npz", demos, cartpole, header=header)
    with pytest.raises(DataError, match="field 'header' has unknown keys") as e:
        data.load(path, env=cartpole)
    assert len(str(e.value)) < 300


def test_expert_files_are_checked_at_load(tmp_path, cartpole_expert):
    """Every way an expert directory can be wrong is one DataError that says what to do."""
    import shutil

    from jirl.algos import expert as experts

    cartpole = envs.make("cartpole")  # the committed expert's horizon, 500

    with pytest.raises(DataError, match="missing; train an expert with `jirl expert"):
        experts.load(tmp_path / "none", cartpole)
    broken = tmp_path / "broken"

    def fresh(meta=None, params=None):
        shutil.rmtree(broken, ignore_errors=True)
        shutil.copytree(cartpole_expert, broken)
        if meta is not None:
            (broken / "expert.json").write_text(meta)
        if params is not None:
            (broken / "expert.msgpack").write_bytes(params)
        return broken

    good = json.loads((cartpole_expert / "expert.json").read_text())
    with pytest.raises(DataError, match="malformed expert header"):
        experts.load(fresh(meta="{not json"), cartpole)
    for version in (99, True, 1.0):  # True == 1 and 1.0 == 1 were read as version 1
        with pytest.raises(DataError, match="'format_version' must be"):
            experts.load(fresh(meta=json.dumps({**good, "format_version": version})), cartpole)
    # a layer a trillion wide: refused for not fitting the parameters, not allocated first
    # (out of device memory, exit 1, as if the run had failed)
    wide = {**good, "ppo": {**good["ppo"], "hidden": [10**12]}}
    with pytest.raises(DataError, match="does not fit .*expert.json's network"):
        experts.load(fresh(meta=json.dumps(wide)), cartpole)
    with pytest.raises(DataError, match="expert is for 'cartpole', the env is 'acrobot'"):
        experts.load(fresh(), envs.make("acrobot"))
    with pytest.raises(DataError, match="cannot restore expert parameters"):
        experts.load(fresh(params=b"\x00\x01 not msgpack"), cartpole)
    with pytest.raises(DataError, match="is not above 'random_return'.*train the expert again"):
        same = {**good, "random_return": good["expert_return"]}
        experts.load(fresh(meta=json.dumps(same)), cartpole)
    with pytest.raises(DataError, match=r"\(10.0\) is not above 'random_return' \(19.0\)"):
        experts.load(fresh(meta=json.dumps({**good, "expert_return": 10.0})), cartpole)
    for field, value, match in (
        ("expert_return", "500", "must be finite numbers"),
        ("env_options", [1], "'env_options' must be a JSON dict"),
        ("horizon", "500", "'horizon' must be a JSON int"),
        ("ppo", {**good["ppo"], "hidden": [64.0, 64]}, "ppo.hidden must be a list of integers"),
        (
            "ppo",
            {**good["ppo"], "hidden": [0]},
            "ppo.hidden must list 1 to 64 positive layer widths",
        ),
        ("ppo", {**good["ppo"], "init_log_std": "x"}, "ppo.init_log_std must be a number"),
        ("ppo", {**good["ppo"], "activation": "gelu2"}, "ppo.activation must be one of"),
        # (accepted: a field `save` never writes, and a fixed_horizon of "maybe")
        ("zzz", 1, "unknown field 'zzz'"),
        ("fixed_horizon", "maybe", "'fixed_horizon' must be a JSON bool, got 'maybe'"),
    ):
        with pytest.raises(DataError, match=f"malformed expert header .*{match}"):
            experts.load(fresh(meta=json.dumps({**good, field: value})), cartpole)
    without_ppo = {k: v for k, v in good.items() if k != "ppo"}  # (it said only "('ppo')")
    with pytest.raises(DataError, match=r"malformed expert header \(field 'ppo' is missing\)"):
        experts.load(fresh(meta=json.dumps(without_ppo)), cartpole)
    (fresh() / "expert.json").unlink()
    os.mkfifo(broken / "expert.json")  # (said "missing")
    with pytest.raises(DataError, match="expert.json: not a regular file"):
        experts.load(broken, cartpole)
    with pytest.raises(DataError, match="malformed expert header .*given twice"):
        experts.load(fresh(meta=json.dumps(good)[:-1] + ', "env": "cartpole"}'), cartpole)
    for key, raw, match in (
        ("expert_return", "1" + "0" * 400, "must be finite numbers within ±1e\\+18"),
        ("env_options", "[" * 10**5 + "]" * 10**5, "nested too deeply"),
    ):
        meta = json.dumps({**good, key: "@@"}).replace('"@@"', raw)
        with pytest.raises(DataError, match=f"malformed expert header .*{match}"):
            experts.load(fresh(meta=meta), cartpole)
    # the weights of the right shapes, every float NaN: refused, not a score of -0.02
    tree = serialization.msgpack_restore((cartpole_expert / "expert.msgpack").read_bytes())
    nan = jax.tree.map(lambda x: np.full_like(x, np.nan) if x.dtype.kind == "f" else x, tree)
    with pytest.raises(DataError, match="parameters hold NaN or inf.*train the expert again"):
        experts.load(fresh(params=serialization.msgpack_serialize(nan)), cartpole)
    with pytest.raises(DataError, match="must be finite numbers within"):
        experts.load(fresh(meta=json.dumps({**good, "random_return": float("nan")})), cartpole)
    # a header that names an (8, 8) network beside the weights of the (64, 64) one
    small = {**good, "ppo": {**good["ppo"], "hidden": [8, 8]}}
    with pytest.raises(DataError, match="the two files are from different experts"):
        experts.load(fresh(meta=json.dumps(small)), cartpole)


def test_demos_of_another_width_load_as_the_format_dtypes(tmp_path, demos, cartpole):
    wide = {
        "obs": np.asarray(demos.obs, np.float64),
        "next_obs": np.asarray(demos.next_obs, np.float64),
        "actions": np.asarray(demos.actions, np.int64),
    }
    loaded = data.load(write(tmp_path / "d.npz", demos, cartpole, **wide), env=cartpole)
    t = loaded.trajectories
    assert t.obs.dtype == t.next_obs.dtype == np.float32 and t.actions.dtype == np.int32
    np.testing.assert_array_equal(t.obs, demos.obs)


def test_save_refuses_what_load_would_refuse(tmp_path, demos, cartpole):
    """An expert no better than random (PPO that failed to learn mountaincar: -200 both) used
    to be written, then refused by every run that read it."""
    path = tmp_path / "d.npz"
    with pytest.raises(DataError, match="not written: .*is not above 'random_return'"):
        data.save(path, demos, cartpole, expert_return=-200.0, random_return=-200.0)
    broken = demos.replace(truncated=np.zeros(demos.num_transitions, bool))
    broken = broken.replace(terminated=np.zeros(demos.num_transitions, bool))
    with pytest.raises(DataError, match="not written: episode 0's last step"):
        data.save(path, broken, cartpole)
    assert not path.exists()


@pytest.mark.parametrize(
    "action, match",
    [
        ({"low": "abc", "high": 2.0}, "'header.action.low' must be a number or a list of 1"),
        ({"low": [-2.0, -2.0], "high": [2.0]}, "'header.action.low' must be a number or a list"),
        ({"low": -2.0}, "'header.action.high' must be a number"),
        ({"low": 2.0, "high": -2.0}, "'low' bound above its 'high' one"),
        ({"low": -1.0, "high": 1.0}, r"bounds low=-1.0, high=1.0, the environment's are low=-2.0"),
    ],
)
def test_continuous_action_bounds_are_checked(tmp_path, action, match):
    env = envs.make("pendulum", horizon=5)
    act = lambda obs, key: jax.random.uniform(key, (1,), minval=-1.0, maxval=1.0)
    demos = data.collect(env, act, jax.random.PRNGKey(0), 2)
    path = data.save(tmp_path / "d.npz", demos, env)
    with np.load(path) as npz:
        fields = {k: npz[k] for k in npz.files}
    header = json.loads(fields["header"].tobytes())
    header["action"] = {"discrete": False, "dim": 1, **action}
    fields["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(path, **fields)
    with pytest.raises(DataError, match=match):
        data.load(path, env=env)


def test_a_single_one_step_episode_saves_and_loads(tmp_path):
    env = envs.make("cartpole", horizon=1)
    act = lambda obs, key: jax.random.randint(key, (), 0, 2)
    one = data.collect(env, act, jax.random.PRNGKey(0), 1)
    assert one.num_transitions == 1
    loaded = data.load(data.save(tmp_path / "d.npz", one, env), env=env)
    assert loaded.trajectories.num_transitions == 1


def test_demos_without_a_random_return_that_equals_it_are_refused_before_training(tmp_path, capsys):
    """A file saved without `random_return` (an option of `data.save`) gets it measured at the
    start of a run; an expert return equal to it (mountaincar's −200) would divide by zero
    after the whole training."""
    from jirl.cli import main

    env = envs.make("mountaincar")
    demos = data.collect(env, lambda obs, key: 0, jax.random.PRNGKey(0), 1)  # never reaches
    path = data.save(tmp_path / "d.npz", demos, env)
    argv = ["train", "bc", "--env", "mountaincar", "--demos", str(path), "--out"]
    assert main([*argv, str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "is not above the random policy's measured here" in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()


def raw_header(demos, cartpole, key, text):
    """A header whose `key` holds the raw JSON `text` (what json.dumps cannot write)."""
    h = header_with(demos, cartpole, **{key: "@@"}).tobytes()
    return np.frombuffer(h.replace(b'"@@"', text.encode()), np.uint8)


def test_headers_and_lengths_no_float_holds_are_data_errors(tmp_path, demos, cartpole):
    """Valid JSON that no check expected raised TypeError, OverflowError or RecursionError,
    and lengths whose int64 sum wraps round to the transitions' count an IndexError."""
    n = demos.num_transitions
    ends = np.zeros(n, bool)
    ends[-1] = True
    cases = [
        (
            dict(header=raw_header(demos, cartpole, "expert_return", "1" + "0" * 400)),
            "'header.expert_return' must be a finite number within",
        ),
        (
            dict(header=raw_header(demos, cartpole, "env_options", "[" * 10**5 + "]" * 10**5)),
            "'header' is not valid JSON: nested too deeply",
        ),
        # no horizon in the header (older files): 4 · 2^62 + n wraps round to n
        (
            dict(
                header=header_with(demos, cartpole, num_episodes=5),
                episode_lengths=np.array([2**62] * 4 + [n], np.int64),
                terminated=np.zeros(n, bool),
                truncated=ends,
            ),
            "an episode longer than the file's transitions",
        ),
    ]
    for changes, match in cases:
        p = write(tmp_path / "d.npz", demos, cartpole, **changes)
        with pytest.raises(DataError, match=match):
            data.load(p, env=cartpole)
    pendulum = data.collect(
        envs.make("pendulum"), lambda obs, key: jnp.zeros(1), jax.random.PRNGKey(0), 1
    )
    p = data.save(tmp_path / "p.npz", pendulum, envs.make("pendulum"), expert_return=-100.0)
    with np.load(p) as npz:
        fields = {k: npz[k] for k in npz.files}
    header = fields["header"].tobytes().replace(b'"low": -2.0', b'"low": -1' + b"0" * 400)
    fields["header"] = np.frombuffer(header, np.uint8)
    np.savez(p, **fields)
    with pytest.raises(DataError, match="'header.action.low' must be a number"):
        data.load(p)


def test_a_zip_that_lies_about_its_members_is_corrupt(tmp_path, demos, cartpole):
    """The zip directory's sizes are the file's word: obs.npy declaring (10^11, 4), 64 bytes
    stored and a directory entry to match, asked for 1.5 TB (MemoryError); an unknown
    compression method raised NotImplementedError. Both are corrupt files."""
    import io
    import struct

    p = tmp_path / "d.npz"
    write(p, demos, cartpole)
    with zipfile.ZipFile(p) as z:
        members = {name: z.read(name) for name in z.namelist()}
    head = io.BytesIO()
    header = {"descr": "<f4", "fortran_order": False, "shape": (10**11, 4)}
    np.lib.format.write_array_header_1_0(head, header)
    lying = tmp_path / "lying.npz"
    with zipfile.ZipFile(lying, "w", zipfile.ZIP_STORED) as z:
        for name, raw in members.items():
            if name != "obs.npy":
                z.writestr(name, raw)
        with z.open("obs.npy", "w", force_zip64=True) as f:
            f.write(head.getvalue() + b"\0" * 64)
        z.filelist[-1].file_size = len(head.getvalue()) + 16 * 10**11  # the directory's claim
    with pytest.raises(DataError, match="field 'obs' says it holds 1,600,000,000,128 bytes in"):
        data.load(lying, env=cartpole)
    # bzip2 has no expansion bound to hold the claim to: the host's memory holds the arrays'
    with zipfile.ZipFile(lying, "w") as z:
        for name, raw in members.items():
            if name != "obs.npy":
                z.writestr(name, raw)
        info = zipfile.ZipInfo("obs.npy")
        info.compress_type = zipfile.ZIP_BZIP2
        with z.open(info, "w", force_zip64=True) as f:
            f.write(head.getvalue() + b"\0" * 64)
        z.filelist[-1].file_size = len(head.getvalue()) + 16 * 10**11
    with zipfile.ZipFile(lying) as z:
        assert z.getinfo("obs.npy").compress_type == zipfile.ZIP_BZIP2
    with pytest.raises(DataError, match="declare 1,600,0.* more than this host's .* of memory"):
        data.load(lying, env=cartpole)
    # a valid file compressed beyond deflate's ratio (bzip2: 40,000 zero actions) still loads
    pendulum = envs.make("pendulum")
    still = data.collect(pendulum, lambda obs, key: jnp.zeros(1), jax.random.PRNGKey(0), 200)
    data.save(p, still, pendulum, expert_return=-100.0)
    with zipfile.ZipFile(p) as z:
        members = {name: z.read(name) for name in z.namelist()}
    for method in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        packed = tmp_path / f"packed{method}.npz"
        with zipfile.ZipFile(packed, "w", method) as z:
            for name, raw in members.items():
                z.writestr(name, raw)
        with zipfile.ZipFile(packed) as z:
            ratio = max(i.file_size / i.compress_size for i in z.infolist())
        assert ratio > 1100 or method == zipfile.ZIP_LZMA
        data.load(packed, env=pendulum)
    raw = bytearray(p.read_bytes())
    raw[8:10] = struct.pack("<H", 99)  # the first member's compression method, local header
    i = raw.index(b"PK\x01\x02")
    raw[i + 10 : i + 12] = struct.pack("<H", 99)  # and in the directory
    p.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="not a readable .npz file"):
        data.load(p, env=pendulum)


SHIPPED_DEMOS = Path(__file__).parent / "data" / "cartpole" / "demos.npz"


def test_an_encrypted_member_is_refused(tmp_path):
    """A member encrypted as `zip -e` makes (general-purpose flag bit 0) raised zipfile's
    "RuntimeError: File ... is encrypted, password required for extraction" traceback."""
    import shutil
    import struct

    p = tmp_path / "d.npz"
    shutil.copy(SHIPPED_DEMOS, p)
    data.load(p)
    with zipfile.ZipFile(p) as z:
        info, directory = z.getinfo("obs.npy"), z.start_dir
    raw = bytearray(p.read_bytes())
    flags = struct.pack("<H", info.flag_bits | 0x1)
    local = info.header_offset  # the member's local file header: flags at offset 6
    raw[local + 6 : local + 8] = flags
    entry = raw.index(b"PK\x01\x02", directory)  # its central directory entry: offset 8
    while raw[entry + 46 : entry + 46 + len(b"obs.npy")] != b"obs.npy":
        entry = raw.index(b"PK\x01\x02", entry + 4)
    raw[entry + 8 : entry + 10] = flags
    p.write_bytes(bytes(raw))
    with zipfile.ZipFile(p) as z:
        assert z.getinfo("obs.npy").flag_bits & 0x1
    with pytest.raises(DataError, match="member 'obs.npy' is encrypted") as caught:
        data.load(p)
    assert "re-save the file without a password" in str(caught.value)


def test_a_field_stored_without_npy_is_checked_too(tmp_path):
    """NumPy reads a member `obs` before `obs.npy` (and as an array when it is one), but only
    `*.npy` members had their sizes checked: an `obs` declaring (10^11, 4) in 64 bytes asked
    for 1.6 TB. Such a member is checked, and a field stored twice refused."""
    import io

    with zipfile.ZipFile(SHIPPED_DEMOS) as z:
        members = {name: z.read(name) for name in z.namelist()}
    head = io.BytesIO()
    header = {"descr": "<f4", "fortran_order": False, "shape": (10**11, 4)}
    np.lib.format.write_array_header_1_0(head, header)
    forged = head.getvalue() + b"\0" * 64
    p = tmp_path / "d.npz"
    for keep_npy in (False, True):
        with zipfile.ZipFile(p, "w") as z:
            for name, raw in members.items():
                if name != "obs.npy" or keep_npy:
                    z.writestr(name, raw)
            z.writestr("obs", forged)
        match = "field 'obs' is stored 2 times" if keep_npy else r"field 'obs' declares \(1000"
        with pytest.raises(DataError, match=match):
            data.load(p)
    # a valid array stored as `obs` still loads, as NumPy reads it
    with zipfile.ZipFile(p, "w") as z:
        for name, raw in members.items():
            z.writestr(name.removesuffix(".npy") if name == "obs.npy" else name, raw)
    np.testing.assert_array_equal(
        data.load(p).trajectories.obs, data.load(SHIPPED_DEMOS).trajectories.obs
    )


def test_an_options_hint_names_only_a_backend_one_could_set():
    """A header whose backend is no name (`[1, 2]`) was answered "--set backend=[1, 2]"."""
    from jirl import envs
    from jirl.data import options_mismatch

    env = envs.make("inverted_pendulum", backend="positional")
    said = options_mismatch({"backend": [1, 2]}, env)
    assert "backend=[1, 2]" in said and "--set" not in said
    assert "(jirl CLI: --set backend=spring)" in options_mismatch({"backend": "spring"}, env)


def test_save_refuses_what_is_not_trajectories_or_holds_no_episode(tmp_path, cartpole_expert):
    """`data.save` of a `Demos` (what `load` returns) raised an AttributeError; of no episode,
    a DataError blaming the header's expert_return (the mean of no returns)."""
    cartpole = envs.make("cartpole")
    loaded = data.load(cartpole_expert / "demos.npz", env=cartpole)
    with pytest.raises(DataError, match=r"got Demos \(pass its .trajectories\)"):
        data.save(tmp_path / "d.npz", loaded, cartpole)
    none = data.take_episodes(loaded.trajectories, 1)
    none = jax.tree.map(lambda x: x[:0], none)
    with pytest.raises(DataError, match="the demonstrations hold no episode"):
        data.save(tmp_path / "d.npz", none, cartpole)
    assert not (tmp_path / "d.npz").exists()
