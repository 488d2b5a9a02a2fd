#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for trying and testing scripts/slurm/submit.sh
# on a real Slurm (Debian 12's slurm-wlm 22.05 and munge; scripts/setup.sh --slurm installs
# them). Run as root: slurmd starts jobs as their users and munged signs for them.
#
#   scripts/slurm/local_cluster.sh start  [--state-dir DIR] [--cpus N]
#   scripts/slurm/local_cluster.sh status [--state-dir DIR]
#   scripts/slurm/local_cluster.sh stop   [--state-dir DIR]
#
#   eval "$(scripts/slurm/local_cluster.sh start)"   # sets SLURM_CONF for sbatch, squeue, ...
#
# Everything lives in DIR (default $RECAP_SLURM_STATE_DIR, else ${TMPDIR:-/tmp}/recap-slurm):
# its own munge key and socket, slurm.conf, state, spool, pid files and logs (DIR/log), and
# ports that nothing on the machine listens on (from 16817 up). Nothing under /etc or /var is
# read or written, so a real cluster's configuration on the same machine is left alone; the
# client commands reach this cluster only through SLURM_CONF=DIR/slurm.conf. `start` prints
# that export on stdout (progress goes to stderr); N CPUs default to nproc. `stop` cancels the
# cluster's jobs, shuts the daemons down and keeps DIR (the logs) for a look afterwards.
# Exit status: 0 done (status: running), 1 failed (status: not running), 2 usage error.
set -euo pipefail

usage() { sed -n '6,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "local_cluster.sh: $*" >&2; exit 1; }

[[ $# -ge 1 ]] || usage
action=$1; shift
state_dir=${RECAP_SLURM_STATE_DIR:-${TMPDIR:-/tmp}/recap-slurm}
cpus=$(nproc)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --state-dir) [[ $# -ge 2 ]] || usage; state_dir=$2; shift 2 ;;
    --cpus) [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || usage; cpus=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "local_cluster.sh: unknown option $1" >&2; usage ;;
  esac
done
[[ $action != *" "* && " start stop status " == *" $action "* ]] || { echo "local_cluster.sh: unknown action '$action'" >&2; usage; }
if [[ $action == start ]]; then mkdir -p "$state_dir"; fi
[[ -d $state_dir ]] || { [[ $action == status ]] && { echo "not running (no $state_dir)"; exit 1; }; die "no such state folder: $state_dir"; }
state_dir=$(cd "$state_dir" && pwd)
conf=$state_dir/slurm.conf
# The marker says DIR is ours: `start` only writes into an empty DIR or one holding it.
marker=$state_dir/.recap-local-cluster
node=recapnode

# alive NAME PIDFILE: the process recorded in PIDFILE runs and is NAME (not a reused pid, not
# a zombie: in a container whose init does not reap, a dead daemon can linger as one).
alive() {
  local name=$1 pidfile=$2 pid stat
  [[ -s $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/stat ]] || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}
munged_pid=$state_dir/run/munged.pid
# munged's socket: in DIR/munge, or in a folder under /tmp when DIR lies below a folder that
# not everyone may enter (munged requires that of every folder above its socket); DIR/run/socket
# records which.
socket_record=$state_dir/run/socket
ctld_pid=$state_dir/run/slurmctld.pid
slurmd_pid=$state_dir/run/slurmd.pid
running() { alive munged "$munged_pid" && alive slurmctld "$ctld_pid" && alive slurmd "$slurmd_pid"; }

# wait_gone NAME PIDFILE SECONDS: true once the process has exited.
wait_gone() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do alive "$1" "$2" || return 0; sleep 0.1; done
  ! alive "$1" "$2"
}

# end NAME PIDFILE: stops one daemon by its recorded pid, politely first.
end() {
  alive "$1" "$2" || return 0
  local pid; pid=$(<"$2")
  kill -TERM "$pid" 2>/dev/null || true
  wait_gone "$1" "$2" 5 && return 0
  kill -KILL "$pid" 2>/dev/null || true
  wait_gone "$1" "$2" 2 || die "$1 (pid $pid) does not exit"
}

stop_cluster() {
  export SLURM_CONF=$conf
  if alive slurmctld "$ctld_pid"; then
    # Jobs first, so that their processes end under slurmstepd's control rather than orphaned.
    local jobs
    jobs=$(squeue --noheader --format=%A 2>/dev/null | sort -u | tr '\n' ' ')
    if [[ -n ${jobs// /} ]]; then
      # shellcheck disable=SC2086  # a list of job ids
      scancel $jobs 2>/dev/null || true
      for _ in $(seq 100); do
        [[ -z $(squeue --noheader --states=running,completing --format=%A 2>/dev/null) ]] && break
        sleep 0.1
      done
    fi
    scontrol shutdown >/dev/null 2>&1 || true
    wait_gone slurmctld "$ctld_pid" 10 || true
  fi
  wait_gone slurmd "$slurmd_pid" 5 || true
  end slurmd "$slurmd_pid"
  end slurmctld "$ctld_pid"
  if alive munged "$munged_pid"; then
    [[ -s $socket_record ]] && munged --stop --socket="$(<"$socket_record")" >/dev/null 2>&1 || true
    wait_gone munged "$munged_pid" 5 || true
    end munged "$munged_pid"
  fi
  # A socket folder of our own under /tmp goes with the daemon.
  if [[ -s $socket_record ]]; then
    local folder; folder=$(dirname "$(<"$socket_record")")
    if [[ $folder == /tmp/recap-munge.* ]]; then rm -rf "$folder"; fi
  fi
}

# One start or stop at a time per state folder (status only reads, and writes nothing there).
if [[ $action != status ]]; then
  [[ $action == start || -e $marker ]] || die "$state_dir holds no local cluster (no $marker)"
  [[ -e $marker || -z $(ls -A "$state_dir") ]] ||
    die "$state_dir is not empty and holds no local cluster: choose another --state-dir"
  exec 9>"$state_dir/.lock"
  flock 9
fi

case "$action" in
status)
  status=0
  for daemon in munged:$munged_pid slurmctld:$ctld_pid slurmd:$slurmd_pid; do
    name=${daemon%%:*} pidfile=${daemon#*:}
    if alive "$name" "$pidfile"; then echo "$name: running, pid $(<"$pidfile")"; else echo "$name: not running"; status=1; fi
  done
  if ((status == 0)); then
    echo "SLURM_CONF=$conf"
    SLURM_CONF=$conf sinfo --Node --long
  fi
  exit "$status" ;;
stop)
  stop_cluster
  echo "local_cluster.sh: stopped the cluster of $state_dir (logs in $state_dir/log)" >&2
  exit 0 ;;
esac

# ---------------------------------------------------------------- start
[[ $(id -u) -eq 0 ]] || die "run as root: slurmd starts jobs as their users and munged signs for them"
for program in munged munge slurmctld slurmd sbatch scontrol sinfo squeue scancel; do
  command -v "$program" >/dev/null 2>&1 ||
    die "$program not found: install slurm-wlm and munge (scripts/setup.sh --slurm --no-build)"
done
if [[ -e $marker ]]; then
  running && die "a cluster already runs in $state_dir (local_cluster.sh stop --state-dir $state_dir first)"
  stop_cluster  # what is left of a half-started or crashed one
  rm -rf "${state_dir:?}/munge" "$state_dir/key" "$state_dir/run" "$state_dir/ctld" "$state_dir/spool" "$state_dir/log"
fi
touch "$marker"
start=$(date +%s.%N)

# munged insists on the socket's folders being reachable by all (--x) and on the key and its
# log being private to the daemon's user.
chmod 711 "$state_dir"
mkdir -p -m 700 "$state_dir/key" "$state_dir/run" "$state_dir/ctld" "$state_dir/spool"
mkdir -p -m 755 "$state_dir/log"
enterable=1 folder=$(dirname "$state_dir")
while [[ $folder != / ]]; do
  [[ $(stat -c %A "$folder") == ?????????[xt] ]] || enterable=0
  folder=$(dirname "$folder")
done
if ((enterable)); then
  mkdir -p -m 711 "$state_dir/munge"
  socket=$state_dir/munge/munge.socket.2
else
  socket=$(mktemp -d /tmp/recap-munge.XXXXXX)/munge.socket.2
  chmod 711 "$(dirname "$socket")"
fi
echo "$socket" >"$socket_record"
(umask 077 && head -c 1024 /dev/urandom >"$state_dir/key/munge.key")
# The daemons get neither our output (a caller such as CTest waits until every holder of its
# pipe has closed it) nor the lock (they would hold it for their whole life).
daemon() { "$@" </dev/null >>"$state_dir/log/$1.out" 2>&1 8>&- 9>&-; }
daemon munged --key-file="$state_dir/key/munge.key" --socket="$socket" --pid-file="$munged_pid" \
  --seed-file="$state_dir/key/munged.seed" --log-file="$state_dir/log/munged.log" ||
  die "munged did not start (see $state_dir/log/munged.out)"
munge --socket="$socket" --no-input 2>/dev/null | unmunge --socket="$socket" >/dev/null 2>&1 ||
  { stop_cluster; die "munged started but does not sign and verify (see $state_dir/log/munged.log)"; }

# Two free ports in a row from 16817 (a real cluster on this machine keeps 6817/6818). Local
# clusters of other state folders choose theirs one at a time: the machine-wide lock is held
# until this one's daemons listen.
exec 8>/tmp/recap-local-cluster-ports.lock
flock 8
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=16817
while listening "$port" || listening $((port + 1)); do
  port=$((port + 2))
  ((port < 17817)) || { stop_cluster; die "no two free ports between 16817 and 17817"; }
done

host=$(uname -n)
host=${host%%.*}  # slurmctld compares SlurmctldHost with its short host name
# Half of the memory slurmd detects, so that `sbatch --mem` works and the node never counts
# as having less memory than configured (which would drain it).
memory=$(slurmd -C 2>/dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
memory=$(( ${memory:-2048} / 2 ))
cat >"$conf" <<EOF
# Written by scripts/slurm/local_cluster.sh: a one-node cluster for $state_dir.
ClusterName=recaplocal
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$state_dir/ctld
SlurmdSpoolDir=$state_dir/spool
SlurmctldPidFile=$ctld_pid
SlurmdPidFile=$slurmd_pid
SlurmctldLogFile=$state_dir/log/slurmctld.log
SlurmdLogFile=$state_dir/log/slurmd.log
# No cgroups: track a job's processes through /proc and bind no tasks to CPUs, which works
# in a container and on any kernel.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# CPUs (not whole cores) are what jobs ask for, so N one-CPU jobs run side by side.
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=$((memory / cpus))
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
# The node comes up idle when slurmd registers, also after an unclean stop.
ReturnToService=2
# Finished jobs stay visible to scontrol show job for 10 minutes (there is no accounting).
MinJobAge=600
NodeName=$node NodeHostname=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF

export SLURM_CONF=$conf
fail_start() { stop_cluster; die "$1 (see $state_dir/log/$2)"; }
daemon slurmctld -f "$conf" || fail_start "slurmctld did not start" slurmctld.out
daemon slurmd -f "$conf" -N "$node" || fail_start "slurmd did not start" slurmd.out
for _ in $(seq 300); do
  [[ $(sinfo --noheader --nodes="$node" --format=%T 2>/dev/null) == idle ]] && break
  sleep 0.1
done
[[ $(sinfo --noheader --nodes="$node" --format=%T 2>/dev/null) == idle ]] ||
  fail_start "node $node did not become idle within 30 s" slurmd.log
exec 8>&-
end_time=$(date +%s.%N)
awk -v s="$start" -v e="$end_time" -v d="$state_dir" -v c="$cpus" -v p="$port" \
  'BEGIN { printf "local_cluster.sh: one node, %d CPUs, up in %.1f s (ports %d-%d; state and logs in %s)\n", c, e - s, p, p + 1, d }' >&2
echo "export SLURM_CONF=$conf"
