#!/usr/bin/env bash
# Start or stop a real single-node Slurm cluster (munge + slurmctld + slurmd) on this Debian
# machine, for CI tests of the Slurm backend. Runs as root and needs no systemd: the daemons
# are started directly and tracked by their pid files.
#
#   bash ci/slurm.sh start   # install if needed, (re)write slurm.conf, (re)start, wait for idle
#   bash ci/slurm.sh stop    # stop what start started; quietly succeeds when nothing runs
set -Eeuo pipefail

CONF=/etc/slurm/slurm.conf
LOGDIR=/var/log/slurm
CTLD_LOG=$LOGDIR/slurmctld.log
SLURMD_LOG=$LOGDIR/slurmd.log
MUNGE_LOG=/var/log/munge/munged.log
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
MUNGE_PID=/run/munge/munged.pid
WAIT_S=${SLURM_CI_WAIT_S:-30}

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

log() { echo "slurm.sh: $*" >&2; }

# Print a message plus the end of the daemon log that most likely explains it, then fail.
die() {
    local msg=$1 logfile=${2:-}
    log "ERROR: $msg"
    if [ -n "$logfile" ] && [ -r "$logfile" ]; then
        log "--- last lines of $logfile ---"
        tail -n 30 "$logfile" >&2
    fi
    exit 1
}

# Unexpected failures (a command under set -e) still say where they happened.
trap 'rc=$?; log "ERROR: command failed (exit $rc) at line $LINENO: $BASH_COMMAND"; exit $rc' ERR

# --- installation -----------------------------------------------------------------------------

# Install only when missing; `apt-get update` only when the plain install fails, because the
# package lists in CI images are usually fresh enough and updating costs tens of seconds.
install_packages() {
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
        && return 0
    log "installing slurm-wlm and munge"
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends
        slurm-wlm munge)
    if ! $sudo "${apt[@]}" >/tmp/slurm-ci-apt.log 2>&1; then
        $sudo apt-get update -qq >>/tmp/slurm-ci-apt.log 2>&1 || true
        $sudo "${apt[@]}" >>/tmp/slurm-ci-apt.log 2>&1 \
            || die "apt-get install slurm-wlm munge failed" /tmp/slurm-ci-apt.log
    fi
}

# --- munge ------------------------------------------------------------------------------------

# munged refuses keys and directories that other users can read or write, so fix ownership
# and modes every time rather than trusting the package's postinst.
prepare_munge() {
    $sudo install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
    $sudo install -d -o munge -g munge -m 0755 /run/munge
    if [ ! -s /etc/munge/munge.key ]; then
        if command -v mungekey >/dev/null; then
            $sudo mungekey --create --keyfile=/etc/munge/munge.key
        else
            $sudo dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
        fi
    fi
    $sudo chown munge:munge /etc/munge/munge.key
    $sudo chmod 0400 /etc/munge/munge.key
}

start_munge() {
    prepare_munge
    $sudo runuser -u munge -- /usr/sbin/munged --pid-file="$MUNGE_PID" --log-file="$MUNGE_LOG" \
        || die "munged failed to start" "$MUNGE_LOG"
    # A credential round trip proves the daemon answers on its socket, not just that it forked.
    munge -n </dev/null | unmunge >/dev/null 2>&1 || die "munge credential round trip failed" "$MUNGE_LOG"
}

# --- slurm.conf -------------------------------------------------------------------------------

# The node line comes from `slurmd -C` (what slurmd will register), so CPUs, sockets, cores and
# threads always match the hardware and the node is never drained for a mismatch. RealMemory is
# lowered a little because a later slurmd may see slightly less memory than this probe did.
node_line() {
    local line mem
    line=$(slurmd -C | grep '^NodeName=') || die "slurmd -C printed no NodeName line"
    mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$line")
    [ -n "$mem" ] || die "no RealMemory in: $line"
    line=$(sed "s/RealMemory=[0-9]*/RealMemory=$((mem * 95 / 100))/" <<<"$line")
    # Loopback address: the CI host name need not resolve, and nothing leaves the machine.
    echo "$line NodeAddr=127.0.0.1 State=UNKNOWN"
}

write_conf() {
    local nodeline host
    nodeline=$(node_line)
    host=$(sed -n 's/^NodeName=\([^ ]*\).*/\1/p' <<<"$nodeline")
    $sudo install -d -m 0755 /etc/slurm "$LOGDIR" /var/spool/slurmctld /var/spool/slurmd
    $sudo tee "$CONF" >/dev/null <<EOF
# Written by ci/slurm.sh: a throwaway single-node cluster for CI. Do not edit by hand.
ClusterName=harbench-ci
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
# No mail on this machine; the default (/bin/mail) only adds an error to the log.
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$CTLD_LOG
SlurmdLogFile=$SLURMD_LOG
SlurmctldDebug=info
SlurmdDebug=info
# Short timeouts so CI notices a dead daemon quickly.
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=300
$nodeline
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    # Some tools (and older packages) look for the config under /etc/slurm-llnl.
    [ -e /etc/slurm-llnl ] || $sudo ln -s /etc/slurm /etc/slurm-llnl
}

# --- slurm daemons ----------------------------------------------------------------------------

# Each start is a fresh cluster: no jobs, job ids from 1 again, logs holding only this run (so
# the tails printed on failure are about this run).
reset_state() {
    $sudo rm -rf /var/spool/slurmctld/* /var/spool/slurmd/*
    $sudo truncate -s 0 "$CTLD_LOG" "$SLURMD_LOG"
}

start_slurm() {
    reset_state
    # -c: cold start, ignore any saved job state (belt and braces with reset_state).
    $sudo slurmctld -c || die "slurmctld failed to start" "$CTLD_LOG"
    $sudo slurmd || die "slurmd failed to start" "$SLURMD_LOG"
}

# ReturnToService=2 lets the node go from UNKNOWN to IDLE on its first registration; poll for it.
wait_idle() {
    local state="" i
    for ((i = 0; i < WAIT_S; i++)); do
        state=$(sinfo -h -o %T 2>/dev/null | head -n1) || state=""
        [ "$state" = idle ] && return 0
        pidof_running "$CTLD_PID" slurmctld || die "slurmctld exited" "$CTLD_LOG"
        pidof_running "$SLURMD_PID" slurmd || die "slurmd exited" "$SLURMD_LOG"
        sleep 1
    done
    log "node state after ${WAIT_S}s: '${state:-none}'"
    log "--- last lines of $CTLD_LOG ---"
    tail -n 15 "$CTLD_LOG" >&2 || true
    die "node did not become idle" "$SLURMD_LOG"
}

# --- stopping ---------------------------------------------------------------------------------

# True when the pid file names a live process with the expected name.
pidof_running() {
    local pidfile=$1 name=$2 pid
    [ -r "$pidfile" ] || return 1
    pid=$(cat "$pidfile" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]
}

# Ask a daemon to stop: TERM via its pid file, and by exact process name as a fallback (a
# daemon whose pid file was lost or that an earlier, crashed run left behind).
signal_daemon() {
    local name=$1 pidfile=$2
    if pidof_running "$pidfile" "$name"; then
        $sudo kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
    fi
    $sudo pkill -TERM -x "$name" 2>/dev/null || true
}

# True while any process has one of the given exact names.
any_running() {
    local name
    for name in "$@"; do
        pgrep -x "$name" >/dev/null && return 0
    done
    return 1
}

# Wait up to 10 s for the named processes to exit, then KILL the stragglers.
wait_gone() {
    local i
    for ((i = 0; i < 100; i++)); do
        any_running "$@" || return 0
        sleep 0.1
    done
    log "$* still running 10s after SIGTERM; killing"
    $sudo pkill -KILL -x "$1" 2>/dev/null || true
    [ $# -lt 2 ] || $sudo pkill -KILL -x "$2" 2>/dev/null || true
    sleep 0.5
}

# All descendants of the given pids (pgrep -P walks the parent links).
descendants() {
    local pid child
    for pid in "$@"; do
        for child in $(pgrep -P "$pid" || true); do
            echo "$child"
            descendants "$child"
        done
    done
}

# Running jobs would outlive the daemons (slurmstepd ignores SIGTERM, and killing it orphans
# the job script), so cancel them through the controller first, and KILL whatever job
# processes are still there after that.
stop_jobs() {
    local ids i steps
    if pidof_running "$CTLD_PID" slurmctld; then
        ids=$(timeout 10 squeue -h -o %A 2>/dev/null || true)
        # shellcheck disable=SC2086 # one argument per job id
        [ -z "$ids" ] || timeout 10 scancel $ids 2>/dev/null || true
    fi
    for ((i = 0; i < 100; i++)); do
        pgrep -x slurmstepd >/dev/null || return 0
        sleep 0.1
    done
    steps=$(pgrep -x slurmstepd || true)
    log "killing leftover job steps: $steps"
    # shellcheck disable=SC2046 # word splitting of the pid list is intended
    $sudo kill -KILL $steps $(descendants $steps) 2>/dev/null || true
}

stop_all() {
    stop_jobs
    # The two Slurm daemons do not depend on each other to shut down; stop them together.
    signal_daemon slurmd "$SLURMD_PID"
    signal_daemon slurmctld "$CTLD_PID"
    wait_gone slurmd slurmctld
    # munged last: slurmd and slurmctld may still authenticate messages while shutting down.
    signal_daemon munged "$MUNGE_PID"
    wait_gone munged
    $sudo rm -f "$SLURMD_PID" "$CTLD_PID" "$MUNGE_PID"
}

# --- commands ---------------------------------------------------------------------------------

cmd_start() {
    local t0=$SECONDS
    install_packages
    # Restart rather than reuse: the config may have changed, and a clean start is cheap.
    stop_all
    start_munge
    write_conf
    start_slurm
    wait_idle
    log "cluster up in $((SECONDS - t0))s"
    sinfo
}

case "${1:-}" in
    start) cmd_start ;;
    stop) stop_all ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
