#!/usr/bin/env bash
# The benchmarks that need a GPU, in the order a short lease (about 15 minutes of device time,
# at most 600 s a command) can afford them. Four steps:
#
#   bash benchmarks/gpu_session.sh prepare   # here, on the CPU machine with pip's registries:
#                                            # cp312 wheels of what the GPU image lacks -> .whl/,
#                                            # and the Brax hopper expert, trained if missing
#   bash benchmarks/gpu_session.sh main      # there (carry .whl and benchmarks/results/experts):
#                                            # smoke test, GAIL (PPO) time-to-0.9 on hopper
#   bash benchmarks/gpu_session.sh tabular   # there, if 5 minutes are left: tabular speed
#   bash benchmarks/gpu_session.sh ppo       # there, if 5 minutes are left: PPO on Brax hopper
#
# Everything the device writes goes under $OUT (the only folder that comes back), logs too.
# The image there has jax, flax, optax, chex, numpy, scipy, matplotlib, PyYAML and rich, but
# not Brax, MuJoCo, distrax, gymnax or their needs: `prepare` fetches those at the versions
# the CPU machine runs, the other steps install them into /tmp/site. Experts are git-ignored
# (a fresh checkout has none): `prepare` trains the hopper expert on the CPU (about 9 minutes
# on 2 cores) unless the cache holds one, and `main` refuses to start without it, as the GPU
# would spend its lease training one, and write it where nothing comes back.
set -o pipefail
cd "$(dirname "$0")/.." || exit 1  # every path below is the repository's

WHEELS=(
    brax==0.14.2 mujoco==4.0.1 mujoco-core==4.0.1 mujoco-studio==4.0.1 mujoco-mjx==3.17.0
    glfw==2.11.0 trimesh==5.2.0 jaxopt==0.8.5 distrax==0.1.9 tfp-nightly==0.26.0.dev20261027
    dm-tree==0.1.10 decorator==5.3.2 gymnax==1.0.1 gymnasium==1.3.0 farama-notifications==0.0.6
)

HOPPER_EXPERT=benchmarks/results/experts/hopper-positional

install() {
    : "${OUT:?run this step on the device machine, where \$OUT is the folder that comes back}"
    [ -d /tmp/site/brax ] || python3 -m pip install -q --no-index --no-deps --no-compile \
        --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
    export PYTHONPATH="$PWD:/tmp/site" PYTHONUNBUFFERED=1
}

case "$1" in
prepare)
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >> .git/info/exclude
    platforms=()
    for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 \
        manylinux2014_x86_64 manylinux1_x86_64; do platforms+=(--platform "$p"); done
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp "${platforms[@]}" -d .whl "${WHEELS[@]}" || exit 1
    # the expert the speed step measures against (a BC row of 1 seed: the quickest way to
    # have the benchmark put its own expert in its cache), with jirl's environment here
    py=python3
    [ -x .venv/bin/python ] && py=.venv/bin/python
    if [ ! -f "$HOPPER_EXPERT/expert.msgpack" ]; then
        echo "training the hopper expert into $HOPPER_EXPERT (7-9 minutes on 2 cores)"
        "$py" benchmarks/adversarial.py --envs hopper --demos 4 --algos bc --seeds 1 \
            --no-throughput --out /tmp/jirl_hopper_expert.json || exit 1
    fi
    du -shc .whl benchmarks/results/experts  # the tree that travels must stay under 64 MiB
    ;;
main)
    [ -f "$HOPPER_EXPERT/expert.msgpack" ] || {
        echo "no $HOPPER_EXPERT: run the prepare step here first and carry the experts" >&2
        exit 5
    }
    install
    cp "$HOPPER_EXPERT/expert.json" "$OUT/hopper_expert.json"
    nvidia-smi -L | tee "$OUT/gpu.txt"
    timeout 120 python3 -c '
import jax, jirl
from jirl import envs
from jirl.rl import ppo
print(jax.__version__, jax.devices())
state, metrics = jax.jit(jirl.make_train(ppo.make(ppo.PPOConfig(), envs.make("cartpole")), 2))(
    jax.random.PRNGKey(0))
jax.block_until_ready(state)
print("ok", sorted(metrics)[:3], envs.make("hopper", backend="positional").spec)
' 2>&1 | tee "$OUT/smoke.log" || exit 4
    # the JSON is written once time-to-0.9 is measured, again after the seed timings (as
    # adversarial_speed_hopper_gpu.partial.json until the run finishes: a run the timeout cuts
    # leaves only that, as every benchmark does); what is left of 570 s (the command's 600,
    # less a margin to write and fetch $OUT)
    timeout $((570 - SECONDS)) python3 benchmarks/adversarial.py --envs --speed hopper \
        --out "$OUT/adversarial_speed_hopper_gpu.json" 2>&1 | tee "$OUT/speed.log"
    ;;
tabular)
    install
    # float32 products at full precision (a GPU's default is TF32), like the CPU's figures
    JAX_DEFAULT_MATMUL_PRECISION=highest timeout "${2:-240}" python3 benchmarks/tabular.py \
        --full --sections dense gridworld batch --out "$OUT/tabular_gpu.json" 2>&1 |
        tee "$OUT/tabular.log"
    ;;
ppo)
    install
    timeout "${2:-240}" python3 benchmarks/ppo.py --full --envs hopper \
        --out "$OUT/ppo_hopper_gpu.json" 2>&1 | tee "$OUT/ppo.log"
    ;;
*)
    echo "usage: bash benchmarks/gpu_session.sh prepare|main|tabular|ppo [seconds]" >&2
    exit 2
    ;;
esac
