"""Every range check of a run config, one case each: the value a user could type and the
one-line `ConfigError` it gets (`jirl.config.experiment_config`, as `jirl train` builds it)."""

import pytest

from jirl import algos
from jirl.config import MAX_SEED, apply_overrides, experiment_config
from jirl.errors import ConfigError

#: (algo, `--set` items, a fragment of the error). Each item alone breaks a valid config.
CASES = [
    # the experiment
    ("ppo", ["seeds=0"], "seeds must be in [1, 65,536]"),
    ("ppo", ["seeds=100000"], "seeds must be in [1, 65,536] (one compile holds every seed)"),
    ("ppo", ["seeds=1e20"], "seeds must be at most 2,147,483,647 in absolute value, got '1e20'"),
    ("ppo", ["horizon=2147483648"], "horizon must be at most 2,147,483,647 in absolute value"),
    ("bc", ["bc.batch_size=-2147483649"], "bc.batch_size must be at most 2,147,483,647 in"),
    ("ppo", ["seed=-1"], "seed must be in [0, "),
    ("ppo", [f"seed={MAX_SEED + 1}"], "seed must be in [0, "),
    ("ppo", ["updates=0"], "updates must be >= 1"),
    ("ppo", ["chunk=0"], "chunk must be >= 1"),
    ("ppo", ["checkpoint_every=0"], "checkpoint_every must be >= 1"),
    ("ppo", ["eval_episodes=0"], "eval_episodes must be in [1, 100,000]"),
    ("ppo", ["horizon=0"], "horizon must be >= 1"),
    ("ppo", ["num_demos=0"], "num_demos must be >= 1"),
    ("ppo", ["updates=200", "ppo.anneal_updates=100"], "anneal_updates (100) is below updates"),
    # products of counts past int32 (each count in range; the first trace overflowed)
    (
        "ppo",
        ["ppo.num_envs=200", "ppo.num_steps=20000000"],
        "ppo.num_envs * ppo.num_steps (4,000,000,000) must be at most 2,147,483,647",
    ),
    (
        "ppo",
        ["updates=200000000", "ppo.anneal_updates=200000000"],
        "(3,200,000,000 optimiser steps) must be at most 2,147,483,647: anneal over fewer",
    ),
    (
        "trpo",
        ["trpo.num_envs=200", "trpo.num_steps=20000000"],
        "trpo.num_envs * trpo.num_steps (4,000,000,000) must be at most 2,147,483,647",
    ),
    (
        "gail",
        ["gail.num_envs=200", "gail.num_steps=20000000"],
        "gail.num_envs * num_steps (4,000,000,000) must be at most 2,147,483,647",
    ),
    # types as YAML or the command line give them
    ("ppo", ["seeds=1.5e0"], "seeds must be of type int, got '1.5e0'"),
    ("ppo", ["algo_config=5"], "unknown config key 'algo_config'; the algorithm's settings go"),
    ("ppo", ["seeds=two"], "seeds must be of type int"),
    ("ppo", ["ppo.learning_rate=.inf"], "ppo.learning_rate must be a finite number"),
    ("ppo", ["ppo.init_log_std=.nan"], "ppo.init_log_std must be a finite number"),
    ("ppo", ["ppo.hidden=[64, x]"], "ppo.hidden must be of type int"),
    ("ppo", ["ppo.normalize_obs=maybe"], "ppo.normalize_obs must be true or false, got 'maybe'"),
    ("ppo", ["ppo.normalize_obs=2"], "ppo.normalize_obs must be true or false, got 2"),
    # PPO
    ("ppo", ["ppo.num_envs=0"], "ppo.num_envs must be >= 1"),
    ("ppo", ["ppo.num_minibatches=3"], "must be divisible by"),
    (
        "ppo",
        ["ppo.num_envs=1", "ppo.num_steps=8", "ppo.num_minibatches=4"],
        "ppo.num_minibatches (4) leaves fewer than 4 samples per minibatch",
    ),
    ("ppo", ["ppo.gamma=1.5"], "ppo.gamma must be in [0, 1]"),
    ("ppo", ["ppo.gae_lambda=-0.1"], "ppo.gae_lambda must be in [0, 1]"),
    ("ppo", ["ppo.clip_eps=0"], "ppo.clip_eps must be > 0"),
    ("ppo", ["ppo.learning_rate=0"], "ppo.learning_rate must be > 0"),
    ("ppo", ["ppo.max_grad_norm=0"], "ppo.max_grad_norm must be > 0"),
    ("ppo", ["ppo.ent_coef=-1"], "ppo.ent_coef must be >= 0, got -1"),
    ("ppo", ["ppo.vf_coef=-1"], "ppo.vf_coef must be >= 0, got -1"),
    ("ppo", ["ppo.anneal_updates=-1"], "ppo.anneal_updates must be >= 0"),
    ("ppo", ["ppo.hidden=[]"], "ppo.hidden must list 1 to 64 positive layer widths"),
    ("ppo", ["ppo.hidden=[0]"], "ppo.hidden must list 1 to 64 positive layer widths"),
    ("ppo", ["ppo.activation=gelu2"], "ppo.activation must be one of"),
    # TRPO
    ("trpo", ["trpo.max_kl=0"], "trpo.max_kl must be in (0, 10] nats, got 0.0"),
    ("trpo", ["trpo.max_kl=100"], "trpo.max_kl must be in (0, 10] nats, got 100.0"),
    ("trpo", ["trpo.gamma=2"], "trpo.gamma must be in [0, 1]"),
    ("trpo", ["trpo.gae_lambda=2"], "trpo.gae_lambda must be in [0, 1]"),
    ("trpo", ["trpo.cg_damping=-1"], "trpo.cg_damping must be >= 0"),
    ("trpo", ["trpo.backtrack_coef=1"], "trpo.backtrack_coef must be in (0, 1)"),
    ("trpo", ["trpo.ent_coef=-1"], "trpo.ent_coef must be >= 0"),
    ("trpo", ["trpo.vf_learning_rate=0"], "trpo.vf_learning_rate must be > 0"),
    ("trpo", ["trpo.max_grad_norm=0"], "trpo.max_grad_norm must be > 0"),
    ("trpo", ["trpo.anneal_updates=-1"], "trpo.anneal_updates must be >= 0"),
    ("trpo", ["trpo.hidden=[]"], "trpo.hidden must list 1 to 64 positive layer widths"),
    # 3,000 layers of width 1 were still compiling after a minute
    (
        "bc",
        ["bc.hidden=[" + ",".join(["1"] * 65) + "]"],
        "bc.hidden must list 1 to 64 positive layer widths, got [1, 1, 1, 1, 1, 1, ...]",
    ),
    ("trpo", ["trpo.activation=x"], "trpo.activation must be one of"),
    ("trpo", ["trpo.fisher_subsample=100000"], "trpo.fisher_subsample (100000) must be <="),
    # BC
    ("bc", ["bc.learning_rate=0"], "bc.learning_rate must be > 0"),
    ("bc", ["bc.batch_size=0"], "bc.batch_size must be >= 1"),
    ("bc", ["bc.steps_per_update=0"], "bc.steps_per_update must be >= 1"),
    ("bc", ["bc.ent_coef=-1"], "bc.ent_coef must be >= 0, got -1"),
    ("bc", ["bc.l2_coef=-1"], "bc.l2_coef must be >= 0, got -1"),
    ("bc", ["bc.hidden=[0]"], "bc.hidden must list 1 to 64 positive layer widths"),
    ("bc", ["bc.activation=x"], "bc.activation must be one of"),
    # the adversarial loop (GAIL, AIRL)
    ("gail", ["gail.generator=sac"], "gail.generator must be one of"),
    ("gail", ["gail.absorbing=true", "gail.fixed_horizon=true"], "absorbing: true needs"),
    ("gail", ["gail.absorbing=true", "gail.fixed_horizon=false", "gail.gamma=1"], "gamma < 1"),
    ("gail", ["gail.disc_updates=0"], "gail.disc_updates must be >= 1, got 0"),
    ("gail", ["gail.learning_rate=-1"], "gail.learning_rate must be > 0, got -1.0"),
    ("gail", ["gail.generator=trpo", "gail.max_kl=0"], "gail.max_kl must be in (0, 10] nats"),
    # the other generator's fields, kept for a switch: checked as it checks them (written to
    # config.yaml unchecked before, to fail once switched)
    ("gail", ["gail.max_kl=-1"], "max_kl must be in (0, 10] nats, got -1.0 (a field of the TRPO"),
    ("fem", ["fem.cg_iters=0"], "cg_iters must be >= 1, got 0 (a field of the TRPO generator"),
    ("airl", ["airl.vf_minibatches=3"], "divisible by vf_minibatches (3) (a field of the TRPO"),
    ("gail", ["gail.generator=trpo", "gail.clip_eps=0"], "clip_eps must be > 0, got 0.0 (a fi"),
    ("gail", ["gail.disc_batch_size=0"], "gail.disc_batch_size must be >= 1, got 0"),
    ("gail", ["gail.replay_rounds=0"], "replay_rounds must be >= 1"),
    ("gail", ["gail.disc_learning_rate=0"], "gail.disc_learning_rate must be > 0, got 0.0"),
    ("gail", ["gail.grad_penalty=-1"], "grad_penalty must be >= 0"),
    ("gail", ["gail.reward_map=exp"], "reward_map must be one of"),
    (
        "gail",
        ["gail.disc_hidden=[]"],
        "gail.disc_hidden must list 1 to 64 positive layer widths, got",
    ),
    ("gail", ["gail.disc_activation=x"], "gail.disc_activation must be one of"),
    # a field the algorithm never reads, set: refused, not ignored
    ("gail", ["gail.log_pi_weight=0.5"], "gail.log_pi_weight is not read (GAIL's discriminator"),
    ("gan_gcl", ["gan_gcl.mixture_density=false"], "gan_gcl.mixture_density is not read"),
    ("airl", ["airl.log_pi_weight=-1"], "log_pi_weight must be >= 0"),
    ("airl", ["airl.reward_log_pi_weight=-1"], "airl.reward_log_pi_weight must be >= 0, got"),
    ("airl", ["airl.g_inputs=sas"], "airl.g_inputs must be 's' or 'sa'"),
    # DAgger's relative
    ("smile", ["smile.beta=0"], "smile.beta must be in (0, 1]"),
    ("smile", ["smile.beta=1.5"], "smile.beta must be in (0, 1]"),
    ("smile", ["smile.max_rounds=10001"], "smile.max_rounds must be at most 10,000"),
    # rounds past max_rounds fit a member and discarded it, without a word (a review)
    ("smile", ["smile.max_rounds=50"], "smile.max_rounds (50) is below updates (100): each of"),
    # sample-based IRL: a field's own check is named as the user writes it, `gcl.field`
    ("gcl", ["gcl.segment_length=0"], "gcl.segment_length must be >= 1, got 0"),
    ("gtal", ["gtal.num_rounds=0"], "gtal.num_rounds must be >= 1, got 0"),
    # YAML 1.1 read these as 90 (base 60) and 16; numbers are decimal, so they are refused
    ("ppo", ["updates=1:30"], "updates must be of type int, got '1:30'"),
    ("ppo", ["chunk=0x10"], "chunk must be of type int, got '0x10'"),
    ("bc", ["bc.learning_rate=1" + "0" * 400], "bc.learning_rate must be of type float"),
]


@pytest.mark.parametrize("algo, items, message", CASES, ids=lambda x: str(x))
def test_each_bad_value_is_refused_with_its_own_message(algo, items, message):
    data = apply_overrides({"algo": algo, "env": "cartpole"}, items)
    with pytest.raises(ConfigError) as caught:
        experiment_config(data, algos.get(algo).config_cls)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("algo", sorted({algo for algo, _, _ in CASES}))
def test_the_cases_start_from_a_valid_config(algo):
    """Each case's error is its own value's: the config without it builds."""
    experiment_config({"algo": algo, "env": "cartpole"}, algos.get(algo).config_cls)


def test_a_whole_number_written_with_an_exponent_is_taken():
    cfg = experiment_config(
        apply_overrides({"algo": "ppo", "env": "cartpole"}, ["updates=1e3"]),
        algos.get("ppo").config_cls,
    )
    assert cfg.updates == 1000


def test_numbers_are_decimal_in_set_values_and_config_files(tmp_path):
    """YAML 1.1 read `seed: 010` as 8 (octal); `--set` and config files read it as 10, the
    number `--sweep` and Python read."""
    from jirl.config import read_yaml

    data = apply_overrides({"algo": "ppo", "env": "cartpole"}, ["seed=010", "updates=1_000"])
    cfg = experiment_config(data, algos.get("ppo").config_cls)
    assert (cfg.seed, cfg.updates) == (10, 1000)
    path = tmp_path / "c.yaml"
    path.write_text("seed: 010\nppo:\n  learning_rate: 3.0e-4\n  gamma: .99\n")
    assert read_yaml(path) == {"seed": 10, "ppo": {"learning_rate": 3e-4, "gamma": 0.99}}


def test_a_saved_config_reads_back_as_it_was_written():
    """A run's config.yaml is read back on --resume and by `jirl retrain`: a string that YAML
    1.1 wrote plain but that reads as a decimal number ("0815") is quoted."""
    from jirl.config import dump_yaml, load_yaml

    data = {"demos": "0815", "b": "0_8", "lr": 1e-5, "n": 3, "hex": "0x10", "yes": "yes"}
    assert load_yaml(dump_yaml(data)) == data


def test_set_fills_a_section_a_config_file_left_empty(tmp_path):
    """`ppo:` with nothing under it builds as an empty section, and `--set ppo.key=v` fills it
    (it was refused: "'ppo' is not a section")."""
    from jirl.config import read_yaml

    path = tmp_path / "c.yaml"
    path.write_text("algo: ppo\nenv: cartpole\nppo:\n")
    data = apply_overrides(read_yaml(path), ["ppo.learning_rate=1e-3"])
    cfg = experiment_config(data, algos.get("ppo").config_cls)
    assert cfg.algo_config.learning_rate == 1e-3


def test_a_key_given_twice_in_a_config_file_is_refused(tmp_path):
    """PyYAML keeps the last of two equal keys without a word."""
    from jirl.config import read_yaml

    path = tmp_path / "c.yaml"
    path.write_text("algo: bc\nbc:\n  learning_rate: 0.1\n  learning_rate: 0.2\n")
    with pytest.raises(ConfigError, match="line 4: key 'learning_rate' is given twice"):
        read_yaml(path)
    path.write_text("[1]: 2\n")  # an unhashable key is still PyYAML's one-line error
    with pytest.raises(ConfigError, match="invalid YAML"):
        read_yaml(path)


def test_yaml_merge_keys_are_taken_and_the_mappings_own_keys_win(tmp_path):
    """`<<: *defaults` is standard YAML; the duplicate-key check must not mistake it for a key."""
    from jirl.config import read_yaml

    path = tmp_path / "c.yaml"
    path.write_text(
        "algo: bc\nenv: cartpole\nbc:\n  <<: &rates {learning_rate: 0.1, batch_size: 32}\n"
        "  learning_rate: 0.001\n"
    )
    data = read_yaml(path)
    assert data["bc"] == {"learning_rate": 0.001, "batch_size": 32}
    # a merged mapping's own keys are checked too (PyYAML merges it without building it)
    path.write_text("bc:\n  <<: {learning_rate: 0.1, learning_rate: 0.2}\n")
    with pytest.raises(ConfigError, match="key 'learning_rate' is given twice"):
        read_yaml(path)
    path.write_text("bc:\n  <<: [{batch_size: 8}, {batch_size: 16, batch_size: 32}]\n")
    with pytest.raises(ConfigError, match="key 'batch_size' is given twice"):
        read_yaml(path)
    path.write_text("algo: bc\nbc: &self\n  <<: *self\n")  # merged into itself: as PyYAML
    assert read_yaml(path)["bc"] == {}
    assert experiment_config(data, algos.get("bc").config_cls).algo_config.batch_size == 32


def test_running_out_of_device_memory_is_one_line(monkeypatch, capsys):
    """A config too large for the device (a batch of 2**31 − 1) fails in XLA: one line, exit 1."""
    import jax

    from jirl import cli

    def too_large(args):
        raise jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 8 GiB")

    monkeypatch.setattr(cli, "cmd_plot", too_large)
    assert cli.main(["plot", "RUN"]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith("jirl: error: out of device memory; use fewer seeds")
        and err.count("\n") == 1
    )

    def other(args):
        raise jax.errors.JaxRuntimeError("INTERNAL: something else")

    monkeypatch.setattr(cli, "cmd_plot", other)
    with pytest.raises(jax.errors.JaxRuntimeError):  # not ours to hide
        cli.main(["plot", "RUN"])


def test_running_out_of_host_memory_is_one_line(monkeypatch, capsys, tmp_path):
    """NumPy building a large world's tables on the host (objectworld size 1000 with 1000
    objects: 7.45 GiB of distances) raised a 26-line MemoryError traceback."""
    from jirl import cli, tabular_run

    def huge_world(env, opts):  # NumPy's _ArrayMemoryError is a MemoryError
        raise MemoryError("Unable to allocate 7.45 GiB for an array with shape (1000000, 1000)")

    monkeypatch.setattr(tabular_run, "build_world", huge_world)
    argv = ["train", "maxent", "--env", "objectworld", "--out", str(tmp_path / "run")]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("jirl: error: out of host memory; use a smaller world") and (
        err.count("\n") == 1
    )


def test_the_generators_messages_name_the_algorithms_own_fields():
    """`--set gail.learning_rate=-1` said "ppo.learning_rate must be > 0": there is no `ppo:`
    section in a GAIL config."""
    for items in (["gail.learning_rate=-1"], ["gail.generator=trpo", "gail.max_kl=0"]):
        data = apply_overrides({"algo": "gail", "env": "cartpole"}, items)
        with pytest.raises(ConfigError) as caught:
            experiment_config(data, algos.get("gail").config_cls)
        assert "ppo." not in str(caught.value) and "trpo." not in str(caught.value)


def test_the_other_generators_fields_are_refused_only_for_their_own_faults():
    """A PPO run whose batch TRPO's default `vf_minibatches` (4) does not divide is the PPO
    generator's to run: the TRPO fields it keeps, at their defaults, are not refused; nor are
    PPO's minibatches that divide a TRPO run's batch."""
    for items in (
        ["gail.num_envs=2", "gail.num_steps=9", "gail.num_minibatches=2"],  # a batch of 18
        ["gail.generator=trpo", "gail.num_steps=96", "gail.num_minibatches=3"],
    ):
        data = apply_overrides({"algo": "gail", "env": "cartpole"}, items)
        experiment_config(data, algos.get("gail").config_cls)


def cli_error(capsys, tmp_path, *argv) -> str:
    """Run `jirl ARGV --out DIR`; assert it is a user error (exit 2, one line, nothing written)
    and return its message."""
    from jirl.cli import main

    out = tmp_path / "run"
    code = main([*argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("jirl: error: ") and err.count("\n") == 1, err[:2000]
    assert "Traceback" not in err and not out.exists()
    return err


#: YAML values that a constructor failed to build with an error that is not YAML's own (a
#: traceback, exit 1): (config file text, its error; a `--set` item of it, its error)
UNBUILDABLE = [
    (  # ValueError
        "seed: !!int 0x10\n",
        "invalid YAML (line 1: '0x10' is not a decimal integer)",
        "seed=!!int 0x10",
        "seed must be of type int, got '!!int 0x10'",
    ),
    (  # ValueError
        "algo: bc\nbc: {learning_rate: !!float abc}\n",
        "invalid YAML (line 2: 'abc' is not a valid !!float)",
        "ppo.learning_rate=!!float abc",
        "ppo.learning_rate must be of type float, got '!!float abc'",
    ),
    (  # AttributeError
        "seed: !!timestamp 2001-13-45x\n",
        "invalid YAML (line 1: '2001-13-45x' is not a valid !!timestamp)",
        "seed=!!timestamp 2001-13-45x",
        "seed must be of type int, got '!!timestamp 2001-13-45x'",
    ),
    (  # RecursionError
        "seeds: " + "[" * 5000 + "]" * 5000 + "\n",
        "invalid YAML (nested too deeply; ",
        "seeds=" + "[" * 5000 + "]" * 5000,
        "invalid YAML (nested too deeply; ",  # (a list's brackets: not taken as text)
    ),
]


@pytest.mark.parametrize(
    "text, message, item, set_message", UNBUILDABLE, ids=["int", "float", "timestamp", "deep"]
)
def test_yaml_values_no_constructor_builds_are_one_line_errors(
    tmp_path, capsys, text, message, item, set_message
):
    """`seed: !!int 0x10` (ValueError), `!!float abc` (ValueError), `!!timestamp 2001-13-45x`
    (AttributeError) and a list 5,000 deep (RecursionError) were tracebacks: in a config file
    they are invalid YAML, at their line; a `--set` value is then its text, as any value that
    YAML cannot read is, and refused by its field, unless it opens a list or mapping."""
    from jirl.config import read_yaml

    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        read_yaml(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert message in cli_error(capsys, tmp_path, "train", "ppo", "--config", str(path))
    err = cli_error(capsys, tmp_path, "train", "ppo", "--env", "cartpole", "--set", item)
    assert set_message in err and len(err) < 300


def test_an_error_shows_a_value_of_any_size_in_one_short_line(tmp_path, capsys):
    """A config of nested YAML aliases (`- &a1 [*a0, *a0]`, 26 levels) printed a "one-line"
    error of 84 MB (4 GB, a minute): the value an error quotes is cut short."""
    from jirl.config import read_yaml

    lines = ["algo: bc", "env: cartpole", "seeds:", "- &a0 [1, 1]"]
    lines += [f"- &a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, 20)]  # 2**20 ones
    path = tmp_path / "c.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match="seeds must be of type int, got ") as caught:
        experiment_config(read_yaml(path), algos.get("bc").config_cls)
    assert len(str(caught.value)) < 300
    data = apply_overrides({"algo": "bc", "env": "cartpole"}, ["bc=" + "x" * 10**6])
    with pytest.raises(ConfigError, match="bc must be a mapping of keys") as caught:
        experiment_config(data, algos.get("bc").config_cls)
    assert len(str(caught.value)) < 300
    from jirl.errors import short  # (the lowest layer: data.py and the planners quote with it)

    assert short("0x10") == "'0x10'" and short([1, 2]) == "[1, 2]"  # a short value is whole
    assert len(cli_error(capsys, tmp_path, "train", "bc", "--config", str(path))) < 300


def test_float_values_are_checked_as_float32_holds_them(tmp_path, capsys):
    """Training computes in float32: `bc.learning_rate=1e300` overflowed (warnings, then a NaN
    error and a run directory without a checkpoint) and 1e-50, 0 in float32, passed `> 0` and
    learned nothing. Sweep values were already checked so; plain values are now too."""
    bc = algos.get("bc").config_cls

    def build(*items):
        return experiment_config(apply_overrides({"algo": "bc", "env": "cartpole"}, items), bc)

    for big in ("1e300", "-1e39", "3.5e38"):
        with pytest.raises(ConfigError, match="bc.learning_rate must be within float32's range"):
            build(f"bc.learning_rate={big}")
    with pytest.raises(ConfigError) as caught:
        build("bc.learning_rate=1e-50")
    assert str(caught.value).startswith("bc.learning_rate must be > 0, got 0.0 (")
    assert "1e-50 is 0.0 in float32" in str(caught.value)
    trpo = algos.get("trpo").config_cls
    data = apply_overrides({"algo": "trpo", "env": "cartpole"}, ["trpo.backtrack_coef=0.99999999"])
    with pytest.raises(ConfigError, match=r"trpo.backtrack_coef must be in \(0, 1\), got 1.0"):
        experiment_config(data, trpo)  # 1.0 in float32
    # values float32 holds (however inexactly) are taken, and kept as given
    cfg = build("bc.learning_rate=1e-8", "bc.l2_coef=1e-50", "bc.ent_coef=3.4e38")
    assert (cfg.algo_config.learning_rate, cfg.algo_config.l2_coef) == (1e-8, 1e-50)
    assert build("bc.learning_rate=3e-4").algo_config.learning_rate == 3e-4
    err = cli_error(capsys, tmp_path, "train", "ppo", "--env", "cartpole", "--set", "seed=1e300")
    assert "seed must be at most" in err  # an int field is no float: its own check
    err = cli_error(
        capsys, tmp_path, "train", "ppo", "--env", "cartpole", "--set", "ppo.learning_rate=1e300"
    )
    assert "ppo.learning_rate must be within float32's range" in err


def test_eval_episodes_is_capped_before_training(tmp_path, capsys):
    """`eval_episodes=1e9` trained a whole run, then ran out of device memory evaluating it (and
    the run could not be resumed with another value): refused up front, as `jirl expert
    --episodes` is."""
    ppo = algos.get("ppo").config_cls
    data = apply_overrides({"algo": "ppo", "env": "cartpole"}, ["eval_episodes=1e9"])
    with pytest.raises(ConfigError, match=r"eval_episodes must be in \[1, 100,000\]"):
        experiment_config(data, ppo)
    from jirl.config import MAX_EVAL_EPISODES

    data = apply_overrides({"algo": "ppo", "env": "cartpole"}, [f"eval_episodes={10**5}"])
    assert experiment_config(data, ppo).eval_episodes == MAX_EVAL_EPISODES
    err = cli_error(
        capsys, tmp_path, "train", "ppo", "--env", "cartpole", "--set", "eval_episodes=1e9"
    )
    assert "eval_episodes must be in [1, 100,000]" in err


@pytest.mark.parametrize(
    "name, value",
    [("eval_episodes", 10**9), ("eval_episodes", 2.5), ("episodes", 0), ("episodes", 10**9)],
)
def test_the_python_api_caps_its_episode_counts_before_training(tmp_path, name, value):
    """`train_expert(episodes=1e9)` or `retrain(..., eval_episodes=1e9)` trained a whole run
    and then failed out of memory (or on a float, in `jax.random.split`): the CLI capped its
    flags, the functions did not."""
    from jirl.expert_run import expert_config, train_expert
    from jirl.retrain import retrain

    with pytest.raises(ConfigError, match=f"{name} must be"):
        train_expert(expert_config("cartpole"), tmp_path / "expert", **{name: value})
    assert not (tmp_path / "expert").exists()
    if name == "eval_episodes":  # checked before the run directory is even read
        with pytest.raises(ConfigError, match="eval_episodes must be"):
            retrain(tmp_path / "no-run", "cartpole", tmp_path / "out", eval_episodes=value)


def test_tabular_numbers_beyond_float32_are_out_of_range(tmp_path, capsys):
    """`--set learning_rate=<400 digits>` raised OverflowError (int too large to convert to
    float); 1e300 overflowed in training and 1e-50, 0 in float32, passed `> 0`."""
    from jirl.tabular.options import number

    huge = "1" + "0" * 400
    for value in (10**400, -(10**400), 1e300, "1e39"):
        with pytest.raises(ConfigError, match="learning_rate must be within float32's range"):
            number("learning_rate", value, positive=True)
    with pytest.raises(ConfigError, match=r"learning_rate must be > 0, got 1e-50 \(0 in float32"):
        number("learning_rate", 1e-50, positive=True)
    assert number("learning_rate", 1e-8, positive=True) == 1e-8
    assert number("l2", 1e-50, non_negative=True) == 1e-50
    argv = ["train", "maxent", "--env", "gridworld", "--set", f"learning_rate={huge}"]
    err = cli_error(capsys, tmp_path, *argv)
    assert "learning_rate must be within float32's range" in err and len(err) < 300


def test_a_mapping_set_on_a_section_is_merged_into_the_files():
    """`--set gail={learning_rate: 3e-4}` on a config file that anneals over its run kept only
    the learning rate: every other `gail:` setting of the file fell back to its default."""
    from jirl.config import apply_overrides

    data = {"algo": "gail", "gail": {"anneal_updates": 100, "learning_rate": 1e-3}}
    merged = apply_overrides(data, ["gail={learning_rate: 3e-4}"])
    assert merged["gail"] == {"anneal_updates": 100, "learning_rate": "3e-4"}  # (read later)
    assert data["gail"]["learning_rate"] == 1e-3  # the caller's dict is left alone
    assert apply_overrides({}, ["gail={learning_rate: 3e-4}"])["gail"] == {"learning_rate": "3e-4"}
    # a sweep's mapping is a grid: replaced whole, not grown into a product with the file's
    swept = apply_overrides({"sweep": {"learning_rate": [1e-3, 1e-4]}}, ["sweep={l2_coef: [0, 1]}"])
    assert swept["sweep"] == {"l2_coef": [0, 1]}


def test_a_switch_takes_one_and_zero_as_yaml_writes_them():
    """`--set eval_greedy=1` was refused ("must be of type bool, got 1") while `=yes` and the
    text "1" were taken: YAML reads `1` as an int."""
    for value, meant in ((1, True), (0, False), ("1", True), ("no", False), (True, True)):
        data = {"algo": "ppo", "env": "cartpole", "eval_greedy": value, "ppo": {"squash": value}}
        cfg = experiment_config(data, algos.get("ppo").config_cls)
        assert cfg.eval_greedy is meant and cfg.algo_config.squash is meant


def test_a_list_given_to_a_tuple_field_is_kept_as_a_tuple():
    """`BCConfig(hidden=[32, 32])` was accepted and left the config unhashable, so no static
    argument of `jax.jit` (a Python-API review)."""
    import jax
    import numpy as np

    from jirl.algos import bc

    for given in ([32, 32], np.array([32, 32]), (32, 32)):
        config = bc.BCConfig(hidden=given)
        assert config.hidden == (32, 32) and all(type(h) is int for h in config.hidden)
        assert config == bc.BCConfig(hidden=(32, 32))
        assert hash(config) == hash(bc.BCConfig(hidden=(32, 32)))
    width = jax.jit(lambda x, c: x * c.hidden[0], static_argnums=1)
    assert width(2, bc.BCConfig(hidden=[3])) == 6
