#!/bin/bash
# Stop the one-node Slurm that start-local.sh started in the given state folder, by the pids it recorded.
#   scripts/slurm/stop-local.sh /tmp/slurm-state
set -uo pipefail
if [ $# -ne 1 ]; then echo "usage: $0 <state-folder>" >&2; exit 2; fi
D=$1
status=0
for f in "$D/run/slurmd.pid" "$D/run/slurmctld.pid" "$D/munge/munged.pid"; do
  [ -f "$f" ] || continue
  p=$(cat "$f")
  kill "$p" 2>/dev/null || continue
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  # slurmctld saves its state on SIGTERM; one that is still up after 10 s is stuck
  if kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null; echo "killed $(basename "$f" .pid) pid $p"; status=1
  else echo "stopped $(basename "$f" .pid) pid $p"; fi
  rm -f "$f"
done
exit $status
