#!/bin/bash
# A one-node Slurm cluster on this machine, to try and test the sweep's Slurm executor
# (cmd/sweep -executor slurm) without a real cluster. Runs as root (CI, a container, a
# laptop with sudo); it does not touch /etc/slurm: its config and state live in $DIR.
#
#   scripts/slurm-test-cluster.sh install   # apt-get update; apt-get install slurm-wlm munge
#   scripts/slurm-test-cluster.sh start     # start munged, slurmctld, slurmd; print the SLURM_CONF line
#   export SLURM_CONF=/tmp/sinkgen-slurm/slurm.conf
#   sinfo; go run ./cmd/sweep -config toy2d-eps.toml -executor slurm
#   scripts/slurm-test-cluster.sh stop      # stop the daemons this script started
#
# DIR is $SINKGEN_SLURM_DIR, by default /tmp/sinkgen-slurm. The node offers 2 CPUs
# (SINKGEN_SLURM_CPUS to change) and as much memory as the machine has.
set -euo pipefail

DIR=${SINKGEN_SLURM_DIR:-/tmp/sinkgen-slurm}
CPUS=${SINKGEN_SLURM_CPUS:-2}
NODE=$(hostname -s)

install() {
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
}

start() {
	if [ "$(id -u)" != 0 ]; then
		echo "slurm-test-cluster: run as root (the daemons run as root here)" >&2
		exit 1
	fi
	command -v slurmctld >/dev/null || install
	mkdir -p "$DIR"/{state,spool,log,run}
	# munged needs a key in /etc/munge readable by the munge user only
	if [ ! -s /etc/munge/munge.key ]; then
		mkdir -p /etc/munge
		dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
	fi
	chown munge:munge /etc/munge/munge.key
	chmod 400 /etc/munge/munge.key
	mkdir -p /run/munge /var/log/munge /var/lib/munge
	chown munge:munge /run/munge /var/log/munge /var/lib/munge
	local mem
	mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
	cat >"$DIR/slurm.conf" <<CONF
ClusterName=sinkgen-test
SlurmctldHost=$NODE
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ReturnToService=2
MinJobAge=300
KillWait=10
NodeName=$NODE CPUs=$CPUS RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
	export SLURM_CONF=$DIR/slurm.conf
	# a munged that answers is reused (another cluster of this script, or the system's)
	munge -n >/dev/null 2>&1 || su -s /bin/sh munge -c /usr/sbin/munged
	/usr/sbin/slurmctld
	/usr/sbin/slurmd
	for _ in $(seq 30); do
		if sinfo -h -o %t 2>/dev/null | grep -qx idle; then
			echo "export SLURM_CONF=$DIR/slurm.conf"
			return 0
		fi
		sleep 1
	done
	echo "slurm-test-cluster: the node is not idle after 30 s; see $DIR/log/" >&2
	sinfo >&2 || true
	exit 1
}

# stop ends the daemons this script started (by their pid files) and waits for them.
stop() {
	local pids=()
	for f in "$DIR/run/slurmd.pid" "$DIR/run/slurmctld.pid" /run/munge/munged.pid; do
		local p
		p=$(cat "$f" 2>/dev/null) || continue
		if kill "$p" 2>/dev/null; then
			pids+=("$p")
		fi
	done
	for p in "${pids[@]}"; do
		for _ in $(seq 100); do
			# gone, or a zombie (where nothing reaps the daemons' orphans)
			grep -qs '^State:[[:space:]]*[^Z]' "/proc/$p/status" || break
			sleep 0.1
		done
	done
	rm -rf "$DIR/state" "$DIR/spool" "$DIR/run"
}

case "${1:-}" in
install) install ;;
start) start ;;
stop) stop ;;
*)
	echo "usage: $0 install|start|stop" >&2
	exit 2
	;;
esac
