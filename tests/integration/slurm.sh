#!/usr/bin/env bash
# tests/integration/slurm.sh — a sweep as a Slurm job array on a one-node cluster on this
# machine (issue 8).  Starts munged, slurmctld and slurmd with a generated slurm.conf in a
# temporary directory, submits the script of `nnrun sweep --emit-sbatch` for a 4-cell
# sweep, waits for the array to finish (sbatch --wait, bounded by `timeout`), and checks
# that `nnrun summarize` of its directory equals a local `-j 2` sweep byte for byte, except
# summary.csv's last column (wall_seconds, a timing).
#
# Needs root (the daemons).  Installs Debian's slurm-wlm and munge when they are missing.
# Exit 0 pass, 1 fail, 77 skipped (packages not installable or daemons not starting; the
# reason is printed; under CI=true that is a failure, exit 1).  Usage: tests/integration/slurm.sh [NNRUN_BINARY]   (run from the
# source tree; default binary ./nnrun, or $NNRUN_BIN)
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(realpath "${1:-${NNRUN_BIN:-$SRC/nnrun}}")
# under CI=true (CI sets it) a part that cannot run is a failure, never a skip
skip() {
    if [ "${CI:-}" = true ]; then echo "FAIL slurm.sh (CI=true, cannot run): $*" >&2; exit 1; fi
    echo "SKIP slurm.sh: $*" >&2
    exit 77
}
fail() { echo "FAIL slurm.sh: $*" >&2; exit 1; }

[ -x "$BIN" ] || fail "no nnrun binary at $BIN (build first)"
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    [ "$(id -u)" = 0 ] || skip "slurm-wlm/munge are not installed and we are not root"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null 2>&1 ||
        skip "apt-get could not install slurm-wlm and munge"
fi
[ "$(id -u)" = 0 ] || skip "starting slurmd needs root"

T=$(mktemp -d /tmp/nnrun-slurm.XXXXXX)
chmod 755 "$T"
cleanup() {
    local pids=()
    for p in slurmd slurmctld munged; do
        [ -s "$T/$p.pid" ] && pids+=("$(cat "$T/$p.pid")")
    done
    [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null
    # the daemons write their state files while they exit: wait for them (bounded), then
    # remove the cluster's directory
    for pid in "${pids[@]}"; do
        timeout 10 tail --pid="$pid" -f /dev/null 2>/dev/null
    done
    [ -n "${KEEP:-}" ] || rm -rf "$T" 2>/dev/null || true
}
trap cleanup EXIT

# --- munge: its own key and socket ---------------------------------------------------
dd if=/dev/urandom of="$T/munge.key" bs=1 count=1024 2>/dev/null
chmod 400 "$T/munge.key"
munged --force --socket="$T/munge.sock" --key-file="$T/munge.key" --pid-file="$T/munged.pid" \
    --log-file="$T/munged.log" --seed-file="$T/munge.seed" ||
    skip "munged does not start here: $(tail -2 "$T/munged.log" 2>/dev/null)"

# --- slurm.conf: one node (this machine), one partition, no accounting ---------------
HOST=$(hostname -s)
CPUS=$(nproc)
PORT=$((16000 + $$ % 20000))
mkdir -p "$T/state" "$T/spool"
export SLURM_CONF="$T/slurm.conf"
cat >"$SLURM_CONF" <<CONF
ClusterName=nnrunci
SlurmctldHost=$HOST
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
AuthInfo=socket=$T/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -i -f "$SLURM_CONF" || skip "slurmctld does not start here: $(tail -3 "$T/slurmctld.log" 2>/dev/null)"
slurmd -f "$SLURM_CONF" || skip "slurmd does not start here: $(tail -3 "$T/slurmd.log" 2>/dev/null)"

# wait (a bounded poll, no assertion on time) until the node is idle
state=""
for _ in $(seq 1 120); do
    state=$(sinfo -h -N -o %t 2>/dev/null | head -1)
    [ "$state" = idle ] && break
    sleep 0.5
done
[ "$state" = idle ] || skip "the one-node cluster did not come up (node state '$state'): $(tail -3 "$T/slurmd.log" 2>/dev/null)"

# --- the sweep: specs/grid.yaml cut to 2 hidden sizes x 1 lr x 2 seeds = 4 cells ------
SETS=(--set 'matrix.hidden=[50, 100]' --set 'matrix.lr=[0.1]' --set train.steps=100)
cd "$SRC"
n=$("$BIN" sweep specs/grid.yaml "${SETS[@]}" --list | wc -l)
[ "$n" = 4 ] || fail "expected 4 cells, --list shows $n"
"$BIN" sweep specs/grid.yaml "${SETS[@]}" --out "$T/slurm" --emit-sbatch --cpus 1 >"$T/job.sh" ||
    fail "--emit-sbatch failed"
grep -q -- '--array=0-3' "$T/job.sh" || fail "the script has no --array=0-3: $(cat "$T/job.sh")"
timeout 600 sbatch --wait --chdir="$T" "$T/job.sh" >"$T/sbatch.out" 2>&1 ||
    fail "the job array failed: $(cat "$T/sbatch.out"; tail -20 "$T"/slurm/slurm-*.out 2>/dev/null)"
for id in $("$BIN" sweep specs/grid.yaml "${SETS[@]}" --list | cut -f2); do
    [ -f "$T/slurm/$id/DONE" ] || fail "cell $id has no DONE after the job array"
done
"$BIN" summarize "$T/slurm" >"$T/summarize.out" || fail "nnrun summarize failed"
"$BIN" sweep specs/grid.yaml "${SETS[@]}" -j 2 --quiet --out "$T/local" || fail "local sweep failed"

# everything but the timing column (the last one) byte for byte
strip() { sed 's/,[^,]*$//' "$1"; }
diff <(strip "$T/slurm/summary.csv") <(strip "$T/local/summary.csv") ||
    fail "summary.csv of the Slurm sweep differs from the local one"
cmp "$T/slurm/summary_by_seed.csv" "$T/local/summary_by_seed.csv" ||
    fail "summary_by_seed.csv differs"
[ "$(wc -l <"$T/slurm/summary.csv")" = 5 ] || fail "summary.csv should have 4 rows"
echo "PASS slurm.sh: 4 cells as a Slurm job array equal a local -j 2 sweep"
