#!/bin/bash
# Start a one-node Slurm (munged + slurmctld + slurmd) on localhost with all state, logs, sockets and pids under
# the folder given as the first argument. No systemd, no accounting database. Needs root and Debian's packages
# slurm-wlm, slurmctld, slurmd, slurm-client and munge (munge's package generates /etc/munge/munge.key).
#   scripts/slurm/start-local.sh /tmp/slurm-state && export SLURM_CONF=/tmp/slurm-state/slurm.conf
# Environment: SLURM_LOCAL_CTLD_PORT / SLURM_LOCAL_D_PORT (default 6817 / 6818), MUNGE_KEY (default
# /etc/munge/munge.key), CLEAN=1 forgets jobs kept from an earlier start. Stop it with stop-local.sh <folder>.
set -euo pipefail
if [ $# -ne 1 ]; then echo "usage: $0 <state-folder>" >&2; exit 2; fi
if [ "$(id -u)" != 0 ]; then echo "$0: must run as root (munged runs as user munge, slurmd as root)" >&2; exit 2; fi
for tool in munged slurmctld slurmd sbatch sinfo scontrol; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "$0: $tool not installed" >&2; exit 3; }
done
mkdir -p "$1"
D=$(cd "$1" && pwd)
CTLD_PORT=${SLURM_LOCAL_CTLD_PORT:-6817}
D_PORT=${SLURM_LOCAL_D_PORT:-6818}
export SLURM_CONF=$D/slurm.conf
mkdir -p "$D/munge" "$D/run" "$D/log" "$D/state/ctld" "$D/state/d"
# munged runs as user munge and must reach its socket folder through $D (mktemp folders are 0700)
chmod 0755 "$D"
chown munge:munge "$D/munge" && chmod 0755 "$D/munge"

# The node as this machine's hardware reports it, renamed localhost (Slurm rejects a config that overstates it)
hw=$(/usr/sbin/slurmd -C | head -1 | sed 's/^NodeName=[^ ]* //')
cat > "$SLURM_CONF" <<CONF
# One-node Slurm on localhost written by $(basename "$0"); everything lives under $D.
ClusterName=local
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$D/munge/munge.socket.2
SlurmctldPort=$CTLD_PORT
SlurmdPort=$D_PORT
StateSaveLocation=$D/state/ctld
SlurmdSpoolDir=$D/state/d
SlurmctldPidFile=$D/run/slurmctld.pid
SlurmdPidFile=$D/run/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
# The default batch_sched_delay of 3 s leaves each job PENDING that long; small local sweeps want it at once
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
# No accounting database (sacct does not work): finished jobs stay visible to squeue/scontrol for MinJobAge seconds
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$D/log/jobcomp.txt
MinJobAge=3600
InactiveLimit=0
KillWait=5
Waittime=0
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=localhost NodeAddr=127.0.0.1 $hw State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF

runuser -u munge -- /usr/sbin/munged --socket="$D/munge/munge.socket.2" --key-file="${MUNGE_KEY:-/etc/munge/munge.key}" \
  --pid-file="$D/munge/munged.pid" --log-file="$D/munge/munged.log" --seed-file="$D/munge/munged.seed"
for _ in $(seq 50); do [ -S "$D/munge/munge.socket.2" ] && break; sleep 0.1; done
munge -n --socket="$D/munge/munge.socket.2" | unmunge --socket="$D/munge/munge.socket.2" >/dev/null

/usr/sbin/slurmctld -f "$SLURM_CONF" ${CLEAN:+-c}
/usr/sbin/slurmd -f "$SLURM_CONF" -N localhost
st=
for _ in $(seq 100); do
  st=$(sinfo -h -N -n localhost -o %T 2>/dev/null || true)
  # idle is not enough after a restart: slurmd must also have registered since this start
  if [ "$st" = idle ] && scontrol ping 2>/dev/null | grep -q UP \
     && scontrol show node localhost 2>/dev/null | grep -o 'SlurmdStartTime=[^ ]*' | grep -qv None; then
    echo "slurm up: node localhost $st; export SLURM_CONF=$SLURM_CONF"
    exit 0
  fi
  sleep 0.2
done
echo "$0: node localhost not idle ('$st')" >&2
tail -20 "$D/log/slurmctld.log" "$D/log/slurmd.log" >&2 || true
exit 1
