"""The GAIL paper's Table 3 (Ho & Ermon 2016), our run: true return of BC, GAIL (TRPO),
GAIL (PPO), AIRL, GCL, GAN-GCL, FEM and GTAL trained from N expert episodes, beside the expert
and a random policy, mean ± std over vmapped seeds, plus the normalized score; and the throughput
of the whole adversarial loop (collection, discriminator updates, policy updates) in env steps
per second.

    python benchmarks/adversarial.py                  # quick CPU mode (below)
    python benchmarks/adversarial.py --envs cartpole --demos 1 4
    python benchmarks/adversarial.py --full           # GPU: classic control + Brax four
    python benchmarks/adversarial.py --envs --speed cartpole   # the speed section only

Quick mode runs a subset and says so in its output: classic control only, 1 and 4 demo episodes,
5 seeds. `--full` adds 7 and 10 demos on classic control and Brax hopper, halfcheetah, walker2d,
ant with 4, 11, 18, 25 demos (the paper's counts), longer training. The Brax four run on the
physics `BRAX_BACKEND` gives each (positional; spring for ant) or `--brax-backend`'s;
their experts are kept per backend (`--experts DIR/hopper-positional`), and demonstrations
from one backend are refused by another.

The speed section (`--speed ENV`, hopper by default in `--full`) times one GAIL (PPO) agent to
a normalized score of 0.9, evaluated as it trains (compile and evaluations left out), and 16
seeds vmapped against 1 on one device (`SPEED_RUNS`).

Beside the cartpole throughput rows it runs imitation 1.0.1's GAIL on seals CartPole
(`benchmarks/imitation_gail.py`, in a subprocess of `--imitation-python`, by default this Python
when it has `imitation`) and gives each row as a multiple of it; without imitation it says so.

The table is built from `ROWS`, a dict of algorithm name -> row builder
`builder(env, expert, demos, num_demos, *, seeds, full, key) -> row dict` (see
`benchmarks/imitation_rows.py` for the row format). Beside BC, GAIL and AIRL the default table
has the sample-based IRL rows of the GAIL paper's story: GCL, GAN-GCL, and the linear-cost
apprenticeship learners FEM and GTAL (`jirl.algos.gcl`, `gan_gcl`, `apprenticeship`); DAgger and
SMILe are in `ROWS` too, off by default (pass `--algos` to pick).

Writes JSON (`--out`, default benchmarks/results/adversarial.json).
"""

from __future__ import annotations

import functools
import importlib.util
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import _jax_env  # noqa: F401  (before JAX: one line and exit 2 for a JAX_* it cannot read)
import jax

sys.path.insert(0, str(Path(__file__).resolve().parent))
import imitation_rows as base  # noqa: E402  (sibling benchmark module, shares row format)

import jirl  # noqa: E402
from jirl import data, envs  # noqa: E402
from jirl.algos import airl, apprenticeship, gail, gan_gcl, gcl  # noqa: E402
from jirl.cli import ScriptParser, script_main, whole  # noqa: E402
from jirl.devices import seed_map  # noqa: E402
from jirl.evaluation import mean_returns, normalized_score  # noqa: E402
from jirl.files import out_file, strict_json, write_results  # noqa: E402
from jirl.provenance import provenance  # noqa: E402
from jirl.run import seed_layout  # noqa: E402
from jirl.train import run_updates  # noqa: E402

CLASSIC = ("cartpole", "acrobot", "mountaincar")
BRAX = ("hopper", "halfcheetah", "walker2d", "ant")
#: Brax physics of each of the four unless `--brax-backend` names one for all. Positional runs
#: hopper 14× faster than generalized on a CPU, and spring's hopper will not stay upright
#: (README). Ant runs on spring, the one backend whose ant stands under zero actions for the
#: whole episode (`benchmarks/brax_physics.py`, 64 episodes: generalized's sinks below its
#: healthy z range in all of them, MJX's ends 11% early, positional's 30%, some 2 steps after
#: the reset); spring also runs ant fastest here (18,500 env steps/s). Its PPO
#: expert: 6102, 1.6% of episodes ended early, 7.7 min; generalized's: 4200, 42–48% ended
#: early above z = 1.0, 25 min.
BRAX_BACKEND = {
    "hopper": "positional",
    "halfcheetah": "positional",
    "walker2d": "positional",
    "ant": "spring",
}
DEMOS = {"classic": (1, 4, 7, 10), "brax": (4, 11, 18, 25)}
QUICK_DEMOS = (1, 4)

#: updates per seed (quick, full) of each adversarial learner, 1024 env steps each by default
#: (FEM and GTAL: 4 whole episodes each).
UPDATES = {
    "gail_trpo": (100, 150),
    "gail_ppo": (100, 300),
    "airl": (300, 400),
    "gcl": (150, 400),
    "gan_gcl": (120, 400),
    "fem": (120, 300),
    "gtal": (150, 300),
}
#: (env, learner) pairs that need more updates than `UPDATES`: on mountaincar GAIL (PPO) must
#: first find the flag (1 demo, 5 seeds: 0.63 after 100 updates, 0.99 after 300). On the Brax
#: four every learner gets 1200 (quick) or 2500 (full) updates of 4096 env steps (`generator`).
#: Measured on this project's CPU (README), 4 demos, 2 seeds, 1200 updates: GAIL (PPO) hopper
#: 0.82 (0.87 after 2500), walker2d 0.75, halfcheetah 0.81; GAIL (TRPO) hopper 0.84, walker2d
#: 0.80 (both before TRPO's Fisher products on every 5th sample and 5 value epochs; after,
#: with `BRAX_GAIL_TRPO`: hopper 0.91, walker2d 0.84); AIRL (`BRAX_AIRL`, 4 seeds) hopper 0.72
#: (λ = 0.03), walker2d 0.80 (λ = 0.01; 0.90 with 2 seeds). Rerun on hopper with the ReLU
#: GAIL discriminator and a retrained expert (2 seeds): GAIL (PPO) 1.01, AIRL 1.00. On walker2d
#: the same rerun failed (−0.13, 0.02) with a retrained expert that falls in all 10 of its demos
#: (absorbing states then reward falling; `main` notes such an expert). With the walker2d expert
#: retrained at γ = 0.997 (2026-12-03, configs/expert-walker2d.yaml; 3465, 8 of 10 demos run 1000
#: steps): GAIL (PPO) 0.99, GAIL (TRPO) 0.98, AIRL 1.00 (2 seeds). With the expert trained for
#: 3000 updates (2026-12-04: 3118.0, the first that falls in under 10% of episodes), 6 seeds:
#: GAIL (PPO) 0.88, AIRL 0.57, GAIL (TRPO) 0.47 (`walker2d_expert3000_6seeds_cpu.json`).
#: Halfcheetah, ReLU discriminator, retrained expert (2026-12-03): GAIL (PPO) 1.01, AIRL 0.87;
#: with the twelfth session's expert, 4 seeds: AIRL 0.96 (discriminator 3e-3), GAIL (TRPO) 0.78.
#: Ant: on generalized physics its experts ended 33-48% of episodes bouncing out of the
#: healthy range and GAIL (PPO) and AIRL scored 0.00; on spring (`BRAX_BACKEND`, eleventh
#: session) GAIL (PPO) 1.01, GAIL (TRPO) 0.61 (0.96 on 6 seeds after `--full`'s 2500
#: updates, eighteenth session), AIRL −0.14 with λ = 0.01 and 1.00 with λ = 0, a gradient
#: penalty of 1 and the discriminator at 1e-3 (`BRAX_AIRL_ENV`).
#: Tuned per env: hopper's GAIL (PPO) and AIRL, ant's and halfcheetah's AIRL, halfcheetah's
#: GAIL (TRPO).
ENV_UPDATES = {
    ("mountaincar", "gail_ppo"): (300, 600),
    **{(env, learner): (1200, 2500) for env in BRAX for learner in UPDATES},
}


#: The speed section (`--speed ENV`; hopper in `--full`): training seconds for one GAIL (PPO)
#: agent to reach normalized score `SPEED_TARGET`, evaluated (16 episodes) every few updates, and
#: the wall time of `SPEED_SEEDS[1]` seeds vmapped against 1 on one device. The issue's goals on
#: Brax hopper: ≤ 2 min on one H100 (jaxirl's README gives ~3.5 min per hopper agent) and ≤ 2×.
#: env -> (demo episodes, updates between evaluations, updates of each seed-count run).
SPEED_RUNS = {"hopper": (4, 25, 10), "cartpole": (1, 5, 20)}
SPEED_TARGET = 0.9
SPEED_SEEDS = (1, 16)


#: Tasks whose episodes end at the goal: there GAIL and AIRL use absorbing states (Kostrikov et
#: al. 2019; `jirl.algos.adversarial`) instead of fixed horizons. With a fixed horizon the
#: demonstrations stop at the goal, the states past it look unlike the expert's, and a positive
#: reward keeps the policy short of it (GAIL-PPO on acrobot, 1 demo, 8 seeds: 0.43 with
#: −log(1 − D), 0.88 with log D; 0.99 with absorbing states and −log(1 − D)).
#: The Brax four, whose episodes end when the robot falls, use absorbing states too (`auto`):
#: GAIL (PPO) on hopper (positional backend, 4 demos, 2 seeds, 400 updates) scored 0.24 and 0.52
#: with them, −0.05 and −0.04 with a fixed horizon, where the fallen robot's states made the
#: discriminator win every sample.
GOAL_TERMINATED = ("acrobot", "mountaincar")
#: AIRL's discriminator on classic control: 5 Adam steps per round at 6e-4. Its step costs
#: twice GAIL's (three MLPs: g, h(s), h(s')), and 10 steps at 3e-4 held AIRL's loop to 42×
#: imitation's GAIL on cartpole. 5 at 6e-4 learn as well (1 demo, 20 seeds on other keys:
#: cartpole 1.00, acrobot 0.98, mountaincar 0.98, against 1.00, 0.98, 0.99); 4 steps at 3e-4:
#: cartpole 0.95. At 1e-3 (10 steps) AIRL missed mountaincar's flag (1 demo, 5 seeds: 0.21).
#: On the benchmark's 20 cartpole seeds with a retrained expert, 1 demo: 5 steps 0.89, 10 0.92.
CLASSIC_AIRL_DISC = {"disc_updates": 5, "disc_learning_rate": 6e-4}
#: AIRL on the Brax four: log π weighted 0.1 in the discriminator's logit (`log_pi_weight`, D =
#: e^f / (e^f + π^0.1)), the policy rewarded with f alone, GAIL's causal entropy weight λ
#: (0.01; per env: `BRAX_AIRL_ENV`), a slower discriminator than GAIL's (1e-4), and the PPO
#: rate annealed like GAIL (PPO)'s. Hopper, 4 demos, 2 seeds, 800 annealed updates: AIRL as
#: published (α = 1, rate 1e-4) −0.03; α = 0.1 with the reward f − 0.1 log π 0.31, with f 0.53
#: (rate 3e-4), 0.08 (1e-3), 0.69 (1e-4); g on s only 0.06. 1200 updates, λ = 0: (0.69, 0.07),
#: one seed stuck where the discriminator wins every sample; λ = 0.01: (1.04, 0.35); λ = 0.01
#: and a gradient penalty of 1: (0.14, 1.03) (README).
BRAX_AIRL = {
    "log_pi_weight": 0.1,
    "reward_log_pi_weight": 0.0,
    "disc_learning_rate": 1e-4,
    "ent_coef": gail.GAILConfig.ent_coef,
}
#: `BRAX_AIRL`'s fields replaced on one of the four (the gradient penalty is `AIRLConfig`'s
#: default, none, unless listed). λ on the benchmark's 4 hopper seeds, 1200 updates: 0.01:
#: 0.06 (every seed stalled); 0.02: 0.69 (1 stall); 0.03: 0.72 (1 stall); 0.05: 0.51 (no
#: stall, none past 0.60); 0.03 on 4 other seeds: 0.64 (1 stall). On walker2d 0.03 failed on
#: all 4 seeds (−0.12: the walker falls at once), so hopper's λ is hopper's only.
#: Ant (spring, 2 seeds, 1200 updates, `jirl train airl --config airl-ant` with `--sweep` or
#: `--set`; `benchmarks/results/airl_ant_spring_*.json`): λ = 0.01 drives the policy's entropy
#: from 7 to 21 nats and scores −0.16; λ = 0 0.21, flat after ~600 updates. With λ = 0, a
#: gradient penalty G = 1 0.55 (G = 10: 0.29; the benchmark: 0.61), and with G = 1 the
#: discriminator's rate: 3e-5 0.06, 1e-4 0.55, 3e-4 0.91 (0.99, 0.84), 1e-3 1.00 (1.01, 1.00),
#: 3e-3 1.00 (1.00, 1.00): ant's is GAIL's 1e-3. Halfcheetah (twelfth session's expert, 3498.6,
#: 2 seeds, `benchmarks/results/airl_halfcheetah_disc_rate_*.json`): 1e-4 0.35, 1e-3 0.82,
#: 3e-3 0.95 (0.95, 0.94), the return still climbing at 1e-4 and 1e-3 when the run ends.
#: Hopper and walker2d show the discriminator the policy's actions as sampled
#: (`AdversarialConfig.disc_actions`): hopper, same 2 seeds and expert, `jirl train airl
#: --config airl-hopper` (`benchmarks/results/airl_hopper_disc_actions_ab.json`): clipped
#: ("executed") 0.33, entropy rising to 7.5 and 10.3 nats; sampled 1.01, entropy −3. On 6
#: seeds with sampled (`hopper_airl_sampled_6seeds_cpu.json`) 1.00, against 0.41 clipped.
#: Walker2d's figures were measured that way, before "executed" became the default; 6 seeds,
#: expert 2169.0: 1.03 (`walker2d_airl_sampled_6seeds_cpu.json`).
BRAX_AIRL_ENV = {
    "hopper": {"ent_coef": 0.03, "disc_actions": "sampled"},
    # walker2d: 2000 BC steps first (thirty-third session, expert 3129.0, 6 seeds, 1200 updates,
    # the same keys through the CLI, `walker2d_airl_bc_warm_start_6seeds.json`): 0.85 against
    # 0.74 without; not measured at `--full`'s 2500
    "walker2d": {"disc_actions": "sampled", "bc_steps": 2000},
    "halfcheetah": {"disc_learning_rate": 3e-3},
    "ant": {"ent_coef": 0.0, "grad_penalty": 1.0, "disc_learning_rate": 1e-3},
}
#: GAIL (TRPO)'s discriminator rate on the Brax four. GAIL's default, 1e-3, failed walker2d
#: (4 demos, 2 seeds, 1200 updates: 0.14; 0.84 at 3e-4) and hopper scores 0.92 and 0.91 at
#: either rate (README, Known issues).
BRAX_GAIL_TRPO = {"disc_learning_rate": 3e-4}
#: `BRAX_GAIL_TRPO`'s fields replaced or added on one of the four. Halfcheetah (twelfth
#: session's expert, 2 seeds, 1200 updates, `jirl train gail --config gail-halfcheetah
#: --updates 1200` with this row's settings and `--sweep gail.max_kl=...`,
#: `benchmarks/results/gail_trpo_halfcheetah_max_kl_sweep.json`): TRPO's KL radius δ 0.01
#: (the default; this benchmark, 4 seeds) 0.78, 0.03 0.86 (0.90, 0.81), 0.1 0.89 (0.93, 0.86).
#: One KL-bounded step per update climbs too slowly at 0.01: 0.85 after 2500 (λ = 0.01).
#: This benchmark with δ = 0.1: 0.92 (0.95, 0.89) on 2 seeds, 0.88 (0.87-0.91) on 6
#: (`gail_trpo_halfcheetah_max_kl01_6seeds_cpu.json`); 0.97 (0.96, 0.97) at 2500 updates
#: (`gail_trpo_halfcheetah_max_kl01_2500_updates.json`). Ant, 1200 updates: δ 0.01 0.55,
#: 0.1 0.64 (`gail_trpo_ant_spring_max_kl_sweep.json`); it keeps 0.01 and wants 2500 updates.
#: Walker2d starts from 2000 steps of behavioural cloning (`bc_steps`; thirty-third session,
#: expert 3129.0, 6 seeds, 1200 updates, δ constant at 0.01, the same keys through the CLI,
#: `walker2d_gail_trpo_bc_warm_start_6seeds.json`): 0.92 (0.88-0.96) against 0.61 (0.26-0.90)
#: without; the training return is 2,500 at update 50 (410 without). Not measured on the
#: other three, nor in this benchmark's own row (δ annealed over the run).
BRAX_GAIL_TRPO_ENV = {"halfcheetah": {"max_kl": 0.1}, "walker2d": {"bc_steps": 2000}}
#: `--termination`: "auto" (absorbing states on `GOAL_TERMINATED` tasks, fixed horizons
#: elsewhere), "absorbing" (everywhere) or "fixed" (everywhere).
TERMINATION = {"mode": "auto"}
#: `--replay-rounds R`: GAIL's and AIRL's discriminator draws half of its policy samples from
#: the last R rounds (`replay_rounds`, `jirl.algos.adversarial`); 1 (the default) is the papers'.
REPLAY = {"rounds": 1}
#: `--squash`: GAIL's and AIRL's generators on continuous actions act with a tanh-squashed
#: Gaussian (`squash: true`, `jirl.nets.TanhNormal`) instead of a Gaussian the env clips.
SQUASH = {"on": False}
#: `--no-throughput` turns off the throughput measurement of each row.
MEASURE_THROUGHPUT = {"on": True}


def termination(env) -> dict:
    """Config fields for `env`'s episodes under `TERMINATION`."""
    mode = TERMINATION["mode"]
    if mode == "absorbing" or (mode == "auto" and env.name in GOAL_TERMINATED + BRAX):
        return {"absorbing": True, "fixed_horizon": False}
    return {"fixed_horizon": True}


def replay() -> dict:
    """The discriminator's replay field under `REPLAY`."""
    return {"replay_rounds": REPLAY["rounds"]}


def airl_fields(env, updates: int) -> dict:
    """AIRL's config fields on `env`: g on (s, a), the generator's and termination's fields; on
    classic control `CLASSIC_AIRL_DISC`; on the Brax four `BRAX_AIRL` with the env's
    `BRAX_AIRL_ENV` and the PPO rate annealed over `updates`."""
    fields = {"g_inputs": "sa", **generator(env), **termination(env), **replay()}
    if env.name in BRAX:
        fields |= BRAX_AIRL | BRAX_AIRL_ENV.get(env.name, {}) | {"anneal_updates": updates}
    else:
        fields |= CLASSIC_AIRL_DISC
    return fields


def generator(env, ppo: bool = True) -> dict:
    """Config fields of the generator for `env`: on the Brax four the experts' rollout and PPO
    settings (`base.BRAX_PPO`; `ppo=False`: the rollout only, for TRPO), elsewhere none (the
    learner's defaults); `squash` on continuous actions under `SQUASH`."""
    fields = {"squash": True} if SQUASH["on"] and not env.spec.discrete else {}
    if env.name not in BRAX:
        return fields
    keys = ("num_envs", "num_steps")
    if ppo:
        keys += ("num_epochs", "num_minibatches", "learning_rate")
    return fields | {k: base.BRAX_PPO[k] for k in keys}


def train_seconds(algo, seeds: int, devices: list, updates: int = 10) -> float:
    """Wall seconds of `updates` updates of the whole training loop (collection, discriminator
    and policy updates) for `seeds` vmapped seeds sharded over `devices`
    (`jirl.devices.seed_map`): compiled once, then the best of 3 timed runs, each from the
    same initial states. `init` (a BC warm start's 2000 steps, on walker2d) runs before the
    clock: charged to the 10 timed updates it cut walker2d's figures, a cost a real run
    spreads over its 1200 or more."""
    layout = seed_layout(seeds, devices)  # a padded seed's copy is work, not counted
    keys = layout.pad(jax.random.split(jax.random.PRNGKey(0), seeds))
    states = jax.block_until_ready(jax.jit(seed_map(algo.init, layout.sharding))(keys))
    run = functools.partial(run_updates, algo.update, num_updates=updates)
    compiled = jax.jit(seed_map(run, layout.sharding)).lower(states).compile()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        jax.block_until_ready(compiled(states))
        times.append(time.perf_counter() - start)
    return min(times)


def steps_per_second(algo, seeds: int, devices: list, updates: int = 10) -> float:
    """Env steps per second of `train_seconds`' run."""
    return (
        algo.env_steps_per_update * updates * seeds / train_seconds(algo, seeds, devices, updates)
    )


def throughput(algo, seeds: int) -> dict:
    """`env_steps_per_second` of `seeds` seeds on one device and, where JAX has several (a CPU
    device per core, `jirl.use_cpu_cores`), `env_steps_per_second_all_devices` of the seeds
    rounded up to a multiple of the device count, sharded over all of them."""
    devices = jax.devices()
    out = {"env_steps_per_second": steps_per_second(algo, seeds, devices[:1])}
    if len(devices) > 1:
        padded = -(-seeds // len(devices)) * len(devices)
        out["devices"] = len(devices)
        out["seeds_all_devices"] = padded
        out["env_steps_per_second_all_devices"] = steps_per_second(algo, padded, devices)
    return out


def build(name: str, env, demos, num_demos: int, full: bool):
    """`(algo, updates, demos taken)` of adversarial learner `name` (`LEARNERS`) on the first
    `num_demos` episodes of `demos`, with the mode's update count (`UPDATES`, `ENV_UPDATES`)."""
    make, config = LEARNERS[name]
    taken = data.take_episodes(demos, num_demos)
    updates = ENV_UPDATES.get((env.name, name), UPDATES[name])[int(full)]
    algo = make(config(env, updates) if callable(config) else config, env, taken)
    return algo, updates, taken


def _adversarial_row(name: str) -> Callable:
    """The row builder of adversarial learner `name`."""

    def row(env, expert, demos, num_demos, *, seeds, full, key):
        algo, updates, taken = build(name, env, demos, num_demos, full)
        result = base.evaluate(algo, env, expert, updates, seeds=seeds, episodes=16, key=key)
        result["env_steps"] = algo.env_steps_per_update * updates
        if MEASURE_THROUGHPUT["on"]:
            result.update(throughput(algo, seeds))
        return base._row(name, env, expert, taken, num_demos, result)

    return row


def _bc_row(env, expert, demos, num_demos, *, seeds, full, key):
    return base.bc_row(
        env, expert, demos, num_demos, seeds=seeds, updates=40 if full else 20, key=key
    )


def _dagger_row(env, expert, demos, num_demos, *, seeds, full, key):
    return base.dagger_row(env, expert, demos, num_demos, seeds=seeds, key=key)


def _smile_row(env, expert, demos, num_demos, *, seeds, full, key):
    return base.smile_row(env, expert, demos, num_demos, seeds=seeds, key=key)


def time_to_score(algo, env, expert, max_updates: int, eval_every: int, key) -> dict:
    """Train one agent with `jirl.run` until its normalized score (mean true return of 16
    episodes, evaluated every `eval_every` updates) reaches `SPEED_TARGET`, or `max_updates`.

    `train_seconds` counts the chunks of updates only: compile (`compile_seconds`) and the
    evaluations are left out. `curve` is `[(updates, score)]` at every evaluation.
    """
    evaluate = mean_returns(algo, env, episodes=16)
    key_train, key_eval = jax.random.split(key)
    curve = []

    def reached(first, metrics, state):
        done = first + len(next(iter(metrics.values())))
        ret = evaluate(state, jax.random.fold_in(key_eval, done)[None])[0]
        curve.append(
            (done, float(normalized_score(ret, expert.expert_return, expert.random_return)))
        )
        print(f"speed: update {done}, normalized {curve[-1][1]:.2f}", flush=True)
        return curve[-1][1] >= SPEED_TARGET

    result = jirl.run(
        algo,
        key_train,
        max_updates,
        chunk_size=eval_every,
        callbacks=[reached],
        devices=jax.devices()[:1],
    )
    updates = curve[-1][0]
    return {
        "target": SPEED_TARGET,
        "reached": curve[-1][1] >= SPEED_TARGET,
        "updates": updates,
        "env_steps": algo.env_steps_per_update * updates,
        "train_seconds": result.wall_seconds,
        "compile_seconds": result.compile_seconds,
        "best_score": max(score for _, score in curve),
        "curve": curve,
    }


def speed(env, expert, demos, key, keep: Callable[[dict], None] = lambda s: None) -> dict:
    """The speed section for GAIL (PPO) on `env` (`SPEED_RUNS`): `time_to_score` with the
    `--full` update count as its budget, then `SPEED_SEEDS` seeds vmapped on one device for the
    same number of updates each (`train_seconds`) and their wall-time ratio. `keep(section)`
    is called with the time-to-score part once it is measured (the caller writes it, so a run
    cut short in the seed timings keeps it)."""
    num_demos, eval_every, scaling_updates = SPEED_RUNS[env.name]
    algo, updates, _ = build("gail_ppo", env, demos, num_demos, full=True)
    out = {
        "algo": "gail_ppo",
        "env": env.name,
        "num_demos": num_demos,
        # what the normalized score is measured against: another expert, another target
        "expert_return": expert.expert_return,
        "random_return": expert.random_return,
    }
    out.update(time_to_score(algo, env, expert, updates, eval_every, key))
    keep(out)
    walls = []
    for n in SPEED_SEEDS:
        walls.append(train_seconds(algo, n, jax.devices()[:1], scaling_updates))
        print(f"speed: {n} seed(s), {scaling_updates} updates: {walls[-1]:.2f} s", flush=True)
    out["seeds"] = {
        "updates": scaling_updates,
        "counts": list(SPEED_SEEDS),
        "wall_seconds": walls,
        "ratio": walls[-1] / walls[0],
    }
    return out


def print_speed(s: dict, device: str) -> None:
    steps = f"{s['updates']} updates, {s['env_steps'] / 1e6:.2f}M env steps"
    what = (
        f"time to {s['target']:.2f}: {s['algo']} on {s['env']} ({s['num_demos']} demos, {device}; "
        f"expert {s['expert_return']:.1f}, random {s['random_return']:.1f})"
    )
    took = f"{s['train_seconds']:.1f} s of training ({steps})"
    if s["reached"]:
        print(f"{what}: {took}; compile {s['compile_seconds']:.1f} s")
    else:
        print(f"{what}: not reached (best {s['best_score']:.2f}) in {took}")
    n0, n1 = s["seeds"]["counts"]
    w0, w1 = s["seeds"]["wall_seconds"]
    print(
        f"seeds: {n1} vmapped take {s['seeds']['ratio']:.2f}× the wall time of {n0} "
        f"({s['seeds']['updates']} updates: {w1:.2f} s vs {w0:.2f} s)"
    )


#: adversarial learner name -> (make, config or `config(env, updates) -> config`).
LEARNERS: dict[str, tuple[Callable, object]] = {
    # δ annealed to 0 over the run and no entropy bonus (`gail.GAILConfig`'s docstring).
    "gail_trpo": (
        gail.make,
        lambda env, updates: gail.GAILConfig(
            generator="trpo",
            anneal_updates=updates,
            ent_coef=0.0,
            **generator(env, ppo=False),
            **termination(env),
            **replay(),
            **(BRAX_GAIL_TRPO | BRAX_GAIL_TRPO_ENV.get(env.name, {}) if env.name in BRAX else {}),
        ),
    ),
    # The PPO rate decays to 0 over the run: without it GAIL-PPO drifts after converging.
    # Causal entropy weight λ = 0.01 (the default, `gail.GAILConfig`).
    "gail_ppo": (
        gail.make,
        lambda env, updates: gail.GAILConfig(
            anneal_updates=updates, **generator(env), **termination(env), **replay()
        ),
    ),
    # `airl_fields`: the discriminator's settings per env family.
    "airl": (
        airl.make,
        lambda env, updates: airl.AIRLConfig(**airl_fields(env, updates)),
    ),
    "gcl": (gcl.make, gcl.GCLConfig()),
    "gan_gcl": (gan_gcl.make, gan_gcl.GANGCLConfig()),
    # Whole episodes per update: num_steps is the env's horizon; GTAL's T is the update count.
    "fem": (
        apprenticeship.make_fem,
        lambda env, updates: apprenticeship.FEMConfig(num_steps=env.horizon),
    ),
    "gtal": (
        apprenticeship.make_gtal,
        lambda env, updates: apprenticeship.GTALConfig(num_steps=env.horizon, num_rounds=updates),
    ),
}
#: algorithm name -> row builder; add rows here.
ROWS: dict[str, Callable] = {
    "bc": _bc_row,
    **{name: _adversarial_row(name) for name in LEARNERS},
    "dagger": _dagger_row,
    "smile": _smile_row,
}
DEFAULT_ALGOS = ("bc", "gail_trpo", "gail_ppo", "airl", "gcl", "gan_gcl", "fem", "gtal")


def fmt(mean: float, std: float) -> str:
    return f"{mean:.1f} ± {std:.1f}"


def markdown(rows: list[dict], algos: list[str]) -> str:
    """The Table-3 layout: one line per (env, demos), a column per algorithm:
    `return mean ± std (normalized score)`."""
    head = ["env", "demos", "expert", "random", *algos]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(["---"] * len(head)) + " |"]
    groups: dict[tuple, dict] = {}
    for r in rows:
        groups.setdefault((r["env"], r["num_demos"]), {})[r["algo"]] = r
    for (env, n), by_algo in groups.items():
        any_row = next(iter(by_algo.values()))
        cells = [env, str(n), f"{any_row['expert_return']:.1f}", f"{any_row['random_return']:.1f}"]
        for a in algos:
            r = by_algo.get(a)
            cells.append(
                "-"
                if r is None
                else f"{fmt(r['return'], r['return_std'])} ({r['normalized_score']:.2f})"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def env_options(env_name: str, args) -> dict:
    """`envs.make` options of `env_name`: Brax's physics backend for the Brax four."""
    if env_name not in BRAX:
        return {}
    return {"backend": args.brax_backend or BRAX_BACKEND[env_name]}


def expert_dir(env_name: str, args) -> Path:
    """The expert cache's directory of `env_name` (per backend on the Brax four)."""
    return Path(args.experts) / "-".join([env_name, *env_options(env_name, args).values()])


def inputs(env_name: str, args, episodes: int):
    """`(env, expert, demos)` of `env_name`: the Brax four on their backend (`env_options`),
    the expert from the cache `args.experts` (trained first, with `episodes` demos, if missing)."""
    options = env_options(env_name, args)
    directory = base.ensure_expert(
        env_name, expert_dir(env_name, args), episodes=episodes, **options
    )
    return base.load_inputs(env_name, directory, **options)


def imitation_reference(python: str, demos: Path, rounds: int = 5) -> dict:
    """imitation's GAIL on seals CartPole, timed by `benchmarks/imitation_gail.py` in a
    subprocess of `python` on jirl's `demos` (.npz): its JSON, or `{"error": line}`."""
    script = Path(__file__).resolve().parent / "imitation_gail.py"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "imitation.json"
        command = [python, str(script), "--demos", str(demos), "--rounds", str(rounds)]
        done = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
            return {"error": f"exit {done.returncode}: {lines[-1]}"}
        try:
            return strict_json(out.read_text())
        except (OSError, ValueError) as e:  # (it exited 0 and wrote nothing: a traceback)
            return {"error": f"{python} exited 0 without a result ({type(e).__name__})"}


def imports_imitation(python: str) -> bool:
    """Whether the interpreter `python` can import imitation (`/bin/true` was taken for one,
    and the run failed at its end, after every row, writing no JSON)."""
    command = [python, "-c", "import imitation; print('imitation')"]  # (`true` exits 0 too)
    done = subprocess.run(command, capture_output=True, text=True)
    return done.returncode == 0 and done.stdout.strip() == "imitation"


def times_reference(row: dict, reference: float) -> dict:
    """A throughput row's env steps/s as multiples of the `reference` env steps/s."""
    out = {"times_imitation": row["env_steps_per_second"] / reference}
    if "env_steps_per_second_all_devices" in row:
        out["times_imitation_all_devices"] = row["env_steps_per_second_all_devices"] / reference
    return out


@script_main
def main(argv=None) -> None:
    parser = ScriptParser(__doc__)
    parser.add_argument("--full", action="store_true", help="all demo counts, Brax, GPU")
    parser.add_argument(
        "--envs", nargs="*", help="environments (default: by mode; none named: no table)"
    )
    parser.add_argument("--demos", nargs="+", type=whole, help="demo episode counts")
    parser.add_argument("--algos", nargs="+", default=list(DEFAULT_ALGOS), choices=sorted(ROWS))
    parser.add_argument("--seeds", type=whole, default=5, help="seeds, vmapped (default 5)")
    parser.add_argument("--experts", default="benchmarks/results/experts", help="expert cache")
    parser.add_argument("--out", type=out_file, default="benchmarks/results/adversarial.json")
    parser.add_argument(
        "--termination",
        choices=("auto", "absorbing", "fixed"),
        default="auto",
        help="GAIL/AIRL episodes: absorbing states on goal-terminated tasks (auto), or everywhere",
    )
    parser.add_argument(
        "--replay-rounds",
        type=whole,
        default=1,
        help="GAIL/AIRL: draw half of the discriminator's policy samples from the last R rounds "
        "(default 1: this round's only)",
    )
    parser.add_argument(
        "--squash",
        action="store_true",
        help="GAIL/AIRL on continuous actions: a tanh-squashed Gaussian policy (squash: true) "
        "instead of a Gaussian the environment clips",
    )
    parser.add_argument(
        "--cpu-devices",
        type=whole,
        default=None,
        help="CPU devices for the throughput figure over all devices (default: one per core; "
        "0: leave JAX's count alone)",
    )
    parser.add_argument(
        "--no-throughput", action="store_true", help="skip the rows' env-steps-per-second runs"
    )
    parser.add_argument(
        "--imitation-python",
        help="a Python with imitation 1.0.1 installed: runs imitation's GAIL beside the cartpole "
        "throughput rows (benchmarks/imitation_gail.py; default: this Python, if it has imitation)",
    )
    parser.add_argument(
        "--brax-backend",
        default=None,
        choices=envs.BACKENDS,
        help="Brax physics for all of the Brax four (default: spring for ant, positional "
        "for the others; experts are kept per backend)",
    )
    parser.add_argument(
        "--speed",
        choices=(*SPEED_RUNS, "none"),
        help="time one GAIL (PPO) agent to normalized 0.9 on ENV, and 16 seeds against 1 "
        "(default: hopper with --full and no --envs, none otherwise)",
    )
    args = parser.parse_args(argv)
    if args.imitation_python is None and importlib.util.find_spec("imitation") is not None:
        args.imitation_python = sys.executable
    if args.imitation_python is not None and shutil.which(args.imitation_python) is None:
        parser.error(f"--imitation-python {args.imitation_python}: not an executable Python")
    if args.imitation_python is not None and not imports_imitation(args.imitation_python):
        parser.error(
            f"--imitation-python {args.imitation_python}: cannot import imitation; name a "
            "Python that has it (pip install imitation), or leave the flag out"
        )
    if args.replay_rounds < 1:
        parser.error(f"--replay-rounds must be >= 1, got {args.replay_rounds}")
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1, got {args.seeds}")
    base.check_experts_dir(parser, args.experts)
    if args.demos and min(args.demos) < 1:
        parser.error(f"--demos counts must be >= 1, got {args.demos}")
    if args.cpu_devices is not None and args.cpu_devices < 0:
        parser.error(f"--cpu-devices must be >= 0, got {args.cpu_devices}")
    unknown = [e for e in args.envs or () if e not in (*CLASSIC, *BRAX)]
    if unknown:  # before any row: a misspelt last env failed after all the others had run
        parser.error(f"--envs {unknown[0]}: not one of {', '.join((*CLASSIC, *BRAX))}")
    if args.envs == [] and args.speed in (None, "none"):  # it wrote an empty results file
        parser.error("nothing to run: --envs names no env; name one, or pass --speed ENV")
    MEASURE_THROUGHPUT["on"] = not args.no_throughput
    if args.cpu_devices != 0:
        jirl.use_cpu_cores(args.cpu_devices)  # before JAX starts (nothing imported above does)
    TERMINATION["mode"] = args.termination
    REPLAY["rounds"] = args.replay_rounds
    SQUASH["on"] = args.squash
    if jax.default_backend() == "cpu":
        # Synchronous dispatch: XLA:CPU's pool can starve itself on 2 cores (jax 0.10.2).
        jax.config.update("jax_cpu_enable_async_dispatch", False)

    default_envs = list(CLASSIC) + (list(BRAX) if args.full else [])
    env_names = default_envs if args.envs is None else args.envs
    rows, notes = [], []
    out = Path(args.out)

    origin = provenance(argv)

    def write(partial: bool, **sections) -> None:
        """The results JSON; rewritten after every row (`partial`: true, into
        `jirl.files.partial_path(out)`) so that a run cut short keeps the rows it finished."""
        write_results(
            out,
            {
                "mode": "full" if args.full else "quick",
                "termination": args.termination,
                "replay_rounds": args.replay_rounds,
                "squash": args.squash,
                "device": str(jax.devices()[0]),
                "platform": platform.platform(),
                "provenance": origin,
                "partial": partial,
                "rows": rows,
                "notes": notes,
                "per_seed_note": "return mean ± std over seeds; normalized 1 = expert, 0 = random",
                **sections,
            },
        )

    if not args.full and env_names:
        scope = "" if args.envs is not None else "classic control only, "
        notes.append(
            f"quick mode: {scope}demos {args.demos or list(QUICK_DEMOS)}, "
            f"{args.seeds} seeds, short training; --full for all counts, longer training and Brax"
        )
    for env_name in env_names:
        kind = "brax" if env_name in BRAX else "classic"
        counts = args.demos or (list(DEMOS[kind]) if args.full else list(QUICK_DEMOS))
        env, expert, demos = inputs(env_name, args, episodes=max(max(counts), 10))
        used = min(max(counts), demos.num_episodes)  # the learners get the first `used`
        falls, falls_used = demos.num_terminated, data.take_episodes(demos, used).num_terminated
        if env_name in BRAX and falls_used:
            notes.append(
                f"{env_name}: the expert falls in {falls_used} of the first {used} demonstration "
                f"episodes, those the learners get; with absorbing states that teaches them to "
                f"fall (retrain it: delete {expert_dir(env_name, args)})"
            )
        elif env_name in BRAX and falls:
            notes.append(
                f"{env_name}: the expert falls in {falls} of {demos.num_episodes} recorded "
                f"demonstration episodes, none of the first {used}, those the learners get"
            )
        for n in counts:
            if n > demos.num_episodes:
                notes.append(f"{env_name}: {n} demos asked, {demos.num_episodes} recorded")
                continue
            for name in args.algos:
                t = time.perf_counter()
                try:
                    row = ROWS[name](
                        env,
                        expert,
                        demos,
                        n,
                        seeds=args.seeds,
                        full=args.full,
                        key=jax.random.PRNGKey(0),
                    )
                except (jirl.ConfigError, jirl.DataError, jirl.RunError) as e:
                    # inputs it refuses (FEM/GTAL on demos that end before the horizon), or a
                    # run that diverged: noted, and the table goes on
                    what = "diverged" if isinstance(e, jirl.RunError) else "not run"
                    notes.append(f"{env_name} demos={n} {name}: {what}: {e}")
                    print(f"{env_name} demos={n} {name}: {what}: {e}", flush=True)
                    write(partial=True)
                    continue
                print(
                    f"{env_name} demos={n} {name}: {fmt(row['return'], row['return_std'])} "
                    f"norm {row['normalized_score']:.2f} ({time.perf_counter() - t:.0f}s)",
                    flush=True,
                )
                rows.append(row)
                write(partial=True)

    keys = (
        "env_steps_per_second",
        "devices",
        "seeds_all_devices",
        "env_steps_per_second_all_devices",
    )
    throughput = [
        {"algo": r["algo"], "env": r["env"], **{k: r[k] for k in keys if k in r}}
        for r in rows
        if "env_steps_per_second" in r
    ]
    # --full's default speed run is hopper's; with --envs named, only what they name runs
    speed_env = args.speed or ("hopper" if args.full and args.envs is None else "none")
    speed_result = None
    if speed_env != "none":
        env, expert, demos = inputs(speed_env, args, episodes=max(SPEED_RUNS[speed_env][0], 10))
        speed_result = speed(
            env,
            expert,
            demos,
            jax.random.PRNGKey(0),
            keep=lambda part: write(partial=True, throughput=throughput, speed=part),
        )
    reference = None
    compared = any(t["env"] == "cartpole" for t in throughput)  # imitation's runs cartpole only
    if compared and args.imitation_python is None:
        notes.append("`imitation` is not installed: no side-by-side run of imitation's GAIL")
    elif compared:
        demos = expert_dir("cartpole", args) / "demos.npz"
        reference = imitation_reference(args.imitation_python, demos)
        if "error" in reference:
            notes.append(f"imitation's GAIL did not run: {reference['error']}")
            reference = None
        else:
            for t in throughput:
                if t["env"] == "cartpole":
                    t |= times_reference(t, reference["env_steps_per_second"])
    table = markdown(rows, args.algos)
    if rows:
        print(f"\n{table}\n")
    for t in throughput:
        line = f"throughput {t['algo']} on {t['env']}: {t['env_steps_per_second']:,.0f} env steps/s"
        line += f" ({args.seeds} seeds, one device)"
        if "devices" in t:
            line += (
                f"; {t['env_steps_per_second_all_devices']:,.0f} with {t['seeds_all_devices']} "
                f"seeds over {t['devices']} devices"
            )
        if "times_imitation" in t:
            line += f" = {t['times_imitation']:.0f}×"
            if "times_imitation_all_devices" in t:
                line += f" and {t['times_imitation_all_devices']:.0f}×"
            line += " imitation's GAIL"
        print(line)
    if reference is not None:
        print(
            f"imitation {reference['versions']['imitation']} GAIL on seals CartPole (run beside): "
            f"{reference['env_steps_per_second']:,.0f} env steps/s"
        )
    if speed_result is not None:
        print_speed(speed_result, jax.devices()[0].device_kind)
    for note in notes:
        print("note:", note)
    write(
        partial=False, throughput=throughput, imitation=reference, speed=speed_result, table=table
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
