#!/usr/bin/env bash
# A real single-node SLURM on this host, for the cluster tests (tests/cluster/).
#
#   scripts/slurm_local.sh start [DIR]          install if missing, configure, start, wait for idle
#   scripts/slurm_local.sh stop [DIR]           cancel its jobs, stop the daemons it started (by PID)
#   scripts/slurm_local.sh run [DIR] -- CMD...  start, run CMD with SLURM_CONF exported, always stop;
#                                               exits with CMD's status
#   scripts/slurm_local.sh status [DIR]         sinfo/squeue of that SLURM
#
# DIR (default $SLURM_LOCAL_DIR, else /tmp/jkn_risk-slurm) holds everything: slurm.conf, the munge
# key and socket, the daemons' state, logs and PID files, and env.sh (`. DIR/env.sh` sets
# SLURM_CONF for sinfo, sbatch, srun, scancel and dask-jobqueue). Nothing under /etc is changed,
# and a system-wide SLURM or munge, if any, is left alone: this one has its own socket and ports.
#
# What `start` does: installs Debian's slurmctld, slurmd, slurm-client and munge with apt-get
# when slurmctld is missing; writes a minimal slurm.conf for this host (the node line from
# `slurmd -C`, ProctrackType=proctrack/linuxproc, TaskPlugin=task/none, no cgroups, no
# accounting, two free TCP ports); starts munged, slurmctld and slurmd in the foreground mode
# (-F / -D) as background processes of its own, their PIDs in DIR/pids; waits until `sinfo`
# shows the node idle. `stop` cancels every job of this SLURM, waits for them to end, then
# sends SIGTERM (SIGKILL after 10 s) to exactly the PIDs in DIR/pids.
#
# Exit status of `start` (and of `run` when it cannot start):
#   0  running, node idle
#   3  THIS MACHINE cannot run SLURM: the packages are missing and cannot be installed (apt-get
#      failed, not root), or a daemon refuses to run here (it exits, or the node never comes up,
#      without a configuration error). Evidence (the daemons' own log lines) on stderr, lines
#      prefixed "slurm_local:". Callers may skip the cluster tests on 3.
#   1  anything else: a configuration error in slurm.conf as written here (the daemons' logs
#      name it), a bad argument, a SLURM already running in DIR. A bug to fix, not a skip.
set -uo pipefail

MACHINE=3
BUG=1
START_TIMEOUT=${SLURM_LOCAL_TIMEOUT:-60}

say() { printf 'slurm_local: %s\n' "$*" >&2; }

cmd=${1:-}
shift || true
DIR=${SLURM_LOCAL_DIR:-/tmp/jkn_risk-slurm}
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    DIR=$1
    shift
fi
[ "${1:-}" = "--" ] && shift
mkdir -p "$DIR" 2>/dev/null || { say "cannot create $DIR"; exit $BUG; }
DIR=$(cd "$DIR" && pwd -P)
CONF=$DIR/slurm.conf
PIDS=$DIR/pids
export SLURM_CONF=$CONF

evidence() {  # N [daemon...]: the last N lines of those daemons' logs (default slurmctld slurmd)
    local n=$1 d f
    shift
    [ $# -gt 0 ] || set -- slurmctld slurmd
    for d in "$@"; do
        for f in "$DIR/$d.log" "$DIR/$d.out"; do
            [ -s "$f" ] || continue
            say "---- ${f#"$DIR"/} (last lines)"
            tail -n "$n" "$f" | sed 's/^/slurm_local:   /' >&2
        done
    done
}

config_error() {  # does a daemon's log blame the configuration we wrote?
    grep -h -i -E 'parse|unable to process config|invalid .*(value|option|parameter)|unrecognized|bad value|error in config' \
        "$DIR"/slurmctld.log "$DIR"/slurmctld.out "$DIR"/slurmd.log "$DIR"/slurmd.out 2>/dev/null \
        | grep -v -i 'ignoring' | head -n 3
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

pid_of() { awk -v n="$1" '$1 == n { print $2 }' "$PIDS" 2>/dev/null; }

install_if_missing() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
        && command -v sinfo >/dev/null && command -v munged >/dev/null; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        say "MACHINE: slurmctld/slurmd/munged are not installed and this is not root (no apt-get)"
        return $MACHINE
    fi
    if ! command -v apt-get >/dev/null; then
        say "MACHINE: slurmctld/slurmd/munged are not installed and there is no apt-get here"
        return $MACHINE
    fi
    say "installing slurmctld slurmd slurm-client munge (apt-get) ..."
    local log=$DIR/apt.log
    if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
            --no-install-recommends slurmctld slurmd slurm-client munge; } >"$log" 2>&1; then
        say "MACHINE: apt-get could not install SLURM (package archive unreachable?); its last lines:"
        tail -n 6 "$log" | sed 's/^/slurm_local:   /' >&2
        return $MACHINE
    fi
    # Debian's postinst may try to start the services: this script runs its own daemons only
    return 0
}

free_port() {
    python3 - <<'EOF' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])
EOF
}

write_conf() {
    local node_line host ctld_port d_port
    # the node as slurmd sees it: CPUs, sockets, cores, threads, memory (no mismatch -> no drain)
    node_line=$(slurmd -C 2>"$DIR/slurmd-C.err" | head -n 1)
    if [ -z "$node_line" ]; then
        say "MACHINE: \`slurmd -C\` cannot describe this host:"
        sed 's/^/slurm_local:   /' "$DIR/slurmd-C.err" >&2
        return $MACHINE
    fi
    host=$(printf '%s\n' "$node_line" | sed -E 's/^NodeName=([^ ]+).*/\1/')
    ctld_port=$(free_port)
    d_port=$(free_port)
    while [ "$d_port" = "$ctld_port" ]; do d_port=$(free_port); done
    mkdir -p "$DIR/ctld" "$DIR/spool" "$DIR/munge"
    cat >"$CONF" <<EOF
# Written by scripts/slurm_local.sh: single-node SLURM for tests (no cgroups, no accounting).
ClusterName=jknlocal
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
KillWait=3
MinJobAge=600
InactiveLimit=0
SlurmdTimeout=60
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    printf 'export SLURM_CONF=%q\n' "$CONF" >"$DIR/env.sh"
    printf '%s\n' "$host" >"$DIR/node"
}

# --------------------------------------------------------------------------- start
start_daemon() {  # name, command...: started in the background, stdio to DIR/name.out
    local name=$1
    shift
    "$@" </dev/null >"$DIR/$name.out" 2>&1 &
    local pid=$!
    printf '%s %s\n' "$name" "$pid" >>"$PIDS"
    sleep 0.5
    if ! alive "$pid"; then
        say "$name exited at once"
        return 1
    fi
}

node_state() { sinfo -h -N -o '%T' 2>/dev/null | head -n 1; }

classify_failure() {  # after a daemon died or the node never came up: bug (1) or machine (3)
    local what=$1 why
    why=$(config_error)
    if [ -n "$why" ]; then
        say "CONFIG: $what; the daemons reject the slurm.conf written here ($CONF):"
        printf '%s\n' "$why" | sed 's/^/slurm_local:   /' >&2
        evidence 8
        return $BUG
    fi
    say "MACHINE: $what (no configuration error in the logs: the daemons do not run on this machine)"
    evidence 10
    return $MACHINE
}

do_start() {
    local p
    if [ -s "$PIDS" ]; then
        while read -r _ p; do
            if alive "$p"; then
                say "a SLURM started from $DIR is already running (pids in $PIDS): stop it first"
                return $BUG
            fi
        done <"$PIDS"
    fi
    install_if_missing || return $?
    rm -rf "$DIR/ctld" "$DIR/spool" "$DIR/munge" "$PIDS" "$DIR"/*.log "$DIR"/*.out
    write_conf || return $?

    # munge: its own key, socket, pid, log and seed files (munged refuses world-writable dirs)
    chmod 755 "$DIR/munge"
    if command -v mungekey >/dev/null; then
        mungekey --create --keyfile="$DIR/munge/munge.key" --force >/dev/null 2>&1
    fi
    [ -s "$DIR/munge/munge.key" ] || dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1 count=1024 2>/dev/null
    chmod 400 "$DIR/munge/munge.key"
    start_daemon munged munged --foreground --force --socket="$DIR/munge/munge.socket" \
        --key-file="$DIR/munge/munge.key" --pid-file="$DIR/munge/munged.pid" \
        --log-file="$DIR/munged.log" --seed-file="$DIR/munge/munged.seed" \
        || { say "MACHINE: munged does not run here:"; evidence 10 munged; return $MACHINE; }
    local i
    for i in $(seq 50); do [ -S "$DIR/munge/munge.socket" ] && break; sleep 0.1; done
    if ! munge --socket="$DIR/munge/munge.socket" -n 2>"$DIR/munge-check.err" \
        | unmunge --socket="$DIR/munge/munge.socket" >/dev/null 2>>"$DIR/munge-check.err"; then
        say "MACHINE: munged runs but cannot encode/decode a credential:"
        sed 's/^/slurm_local:   /' "$DIR/munge-check.err" >&2
        evidence 10 munged
        return $MACHINE
    fi

    start_daemon slurmctld slurmctld -D -c -f "$CONF" \
        || { classify_failure "slurmctld exited at start"; return $?; }
    start_daemon slurmd slurmd -D -f "$CONF" \
        || { classify_failure "slurmd exited at start"; return $?; }

    local deadline=$((SECONDS + START_TIMEOUT)) state=""
    while [ $SECONDS -lt $deadline ]; do
        state=$(node_state)
        case "$state" in
            idle|idle\~) break ;;
        esac
        for p in slurmctld slurmd munged; do
            if ! alive "$(pid_of $p)"; then
                classify_failure "$p died while the node came up (state: ${state:-none})"
                return $?
            fi
        done
        sleep 0.5
    done
    if [ "$state" != idle ]; then
        classify_failure "the node is not idle after ${START_TIMEOUT}s (sinfo: ${state:-no answer})"
        return $?
    fi
    say "SLURM up in $SECONDS s: $(sinfo -h -N -o '%N %T cpus=%c mem=%mMB partition=%P')"
    say "daemons: $(tr '\n' ' ' <"$PIDS"); SLURM_CONF=$CONF (. $DIR/env.sh)"
    grep -h -m1 -E 'slurmctld version .* started' "$DIR/slurmctld.log" 2>/dev/null | sed 's/^/slurm_local:   /' >&2
    grep -h -m1 -E 'slurmd version .* started' "$DIR/slurmd.log" 2>/dev/null | sed 's/^/slurm_local:   /' >&2
    return 0
}

# --------------------------------------------------------------------------- stop
do_stop() {
    [ -s "$PIDS" ] || { say "nothing to stop in $DIR"; return 0; }
    local name p i rc=0 jobs
    if alive "$(pid_of slurmctld)"; then
        jobs=$(squeue -h -o '%i' 2>/dev/null | tr '\n' ' ')
        if [ -n "${jobs// /}" ]; then
            say "cancelling jobs: $jobs"
            scancel --quiet $jobs 2>/dev/null
            for i in $(seq 60); do
                [ -z "$(squeue -h -o '%i' 2>/dev/null)" ] && break
                sleep 0.5
            done
        fi
    fi
    # slurmd first (no new steps), then the controller, then munge: each by its recorded PID
    for name in slurmd slurmctld munged; do
        p=$(pid_of "$name")
        alive "$p" || continue
        kill -TERM "$p" 2>/dev/null
        for i in $(seq 100); do alive "$p" || break; sleep 0.1; done
        if alive "$p"; then
            say "$name (pid $p) ignored SIGTERM for 10 s: SIGKILL"
            kill -KILL "$p" 2>/dev/null
            rc=1
        fi
        wait "$p" 2>/dev/null
        say "stopped $name (pid $p)"
    done
    mv -f "$PIDS" "$PIDS.stopped"
    return $rc
}

case "$cmd" in
    start) do_start; exit $? ;;
    stop) do_stop; exit $? ;;
    status)
        sinfo -N -l; squeue; exit $? ;;
    run)
        [ $# -gt 0 ] || { say "usage: $0 run [DIR] -- CMD ..."; exit $BUG; }
        do_start
        rc=$?
        if [ $rc -ne 0 ]; then
            do_stop >/dev/null 2>&1
            exit $rc
        fi
        trap 'do_stop; exit 130' INT TERM
        "$@"
        rc=$?
        do_stop
        exit $rc ;;
    *)
        sed -n '2,10p' "$0" >&2
        exit $BUG ;;
esac
