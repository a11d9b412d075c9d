#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Containment of the process tree: the AF_UNIX mediation helpers hold nothing and are
# out of the agent's reach (exec'd fresh, non-dumpable, one Landlock layer above it);
# private PID and IPC namespaces with an init, so host processes and SysV objects are
# out of sight and nothing the agent starts outlives `nono run`. As root and uid 65534.

load lib/common

SECRET=sk-contain-7c1e9a2b4d6f8031

setup() {
	common_setup
	S="$T/sock"
	mkdir -p "$S/out" "$S/ok"
	chmod -R 777 "$S"
	SERVERS=()
	# A reverse-proxy credential: the real key stays in nono's environment (env://),
	# the agent gets a phantom. The upstream is never contacted.
	cat >"$T/prof.json" <<JSON
{"meta": {"name": "contain"}, "extends": "default",
 "network": {"custom_credentials": {"x": {"upstream": "http://127.0.0.1:9",
   "credential_key": "env://NONO_CONTAIN_KEY", "env_var": "X_KEY"}}}}
JSON
	chmod 644 "$T/prof.json"
	TAG="$$$RANDOM"
}

teardown() {
	for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; done
	pkill -f "sleep 4242.$TAG" 2>/dev/null || true
	common_teardown
}

# contained root|user NONO-RUN-ARGS... -- COMMAND: nono run with the key in its environment.
contained() {
	local who=$1
	shift
	local envs=(PATH=/usr/bin:/bin HOME="$H" TMPDIR=/tmp NONO_CONTAIN_KEY="$SECRET")
	if [ "$who" = user ]; then
		setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups env -i "${envs[@]}" \
			"$N" run --read "$P" "$@"
	else
		env -i "${envs[@]}" "$N" run --read "$P" "$@"
	fi
}

# sh -c "$after_helpers" PROGRAM ARG PROBE-UNIX SOCKET: connect to SOCKET (a granted one,
# served), so that the init forks a mediation helper, and exec PROGRAM ARG once the init
# and that helper are both there to see.
after_helpers='"$2" connect "$3" >/dev/null; for i in $(seq 200); do [ $(cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\0" " " | grep -o "__init 2 [1-9]" | wc -l) -ge 2 ] \
	&& break; sleep 0.05; done; exec "$0" "$1"'

serve() {
	"$P/probe-unix" serve "$1" "$2" >/dev/null 3>&- &
	SERVERS+=($!)
	for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done
	echo "server on $1 did not start" >&2
	return 1
}

check_scan() {
	serve "$S/ok/granted.sock" fine
	# With a proxy credential (private network namespace) and with the network allowed.
	run contained "$1" --profile "$T/prof.json" --credential x \
		--allow-unix-socket "$S/ok/granted.sock" -- /bin/sh -c "$after_helpers" "$P/probe-scan" "$SECRET" \
		"$P/probe-unix" "$S/ok/granted.sock"
	assert_success
	assert_output --regexp "scanned [0-9]+ pids, ([2-9]|[1-9][0-9]+) outside"
	refute_output --partial "pid "
	run contained "$1" --allow-unix-socket "$S/ok/granted.sock" -- /bin/sh -c "$after_helpers" "$P/probe-scan" "$SECRET" \
		"$P/probe-unix" "$S/ok/granted.sock"
	assert_success
	assert_output --regexp "scanned [0-9]+ pids, ([2-9]|[1-9][0-9]+) outside"
	refute_output --partial "pid "
	# The mediation still works (helpers exec'd from a binary outside the grants: $P is
	# granted here, so run once more from the bare default profile's point of view).
	run contained "$1" --allow-unix-socket "$S/ok/granted.sock" -- \
		"$P/probe-unix" connect "$S/ok/granted.sock"
	assert_success
	assert_output --partial fine
}
@test "no visible process holds the key or can be traced, signalled or robbed of an fd (root)" { check_scan root; }
@test "no visible process holds the key or can be traced, signalled or robbed of an fd (user)" { check_scan user; }

check_helpers_exec() {
	# nono itself outside every grant: the helpers must still start and mediate.
	serve "$S/ok/granted.sock" fine
	local envs=(PATH=/usr/bin:/bin HOME="$H" TMPDIR=/tmp)
	local cmd=(env -i "${envs[@]}" "$N" run --read "$H/project" --allow-unix-socket "$S/ok/granted.sock" --
		/bin/sh -c "\"\$0\" connect \"\$1\" >/dev/null; for i in \$(seq 100); do o=\$(ps -o pid=,args= -e); [ \$(echo \"\$o\" | grep -cE ' nono __init 2 [1-9] [4-9]\$') -ge 2 ] && break; sleep 0.05; done; echo \"\$o\"; exec \"\$0\" connect \"\$1\"")
	[ "$1" = user ] && cmd=(setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "${cmd[@]}")
	cp "$P/probe-unix" "$H/project/probe-unix"
	chmod 755 "$H/project/probe-unix"
	# The init (PID 1, exec'd before the agent runs) forks a helper when the first
	# connect needs one, beside the agent: look again until it shows.
	run "${cmd[@]}" "$H/project/probe-unix" "$S/ok/granted.sock"
	assert_success
	assert_output --partial fine
	assert_line --regexp '^ *1 nono __init 2 [1-9] [4-9]$'
	assert_line --regexp '^ *([3-9]|[1-9][0-9]+) nono __init 2 [1-9] [4-9]$'
}
@test "helpers and init are exec'd fresh even when nono's directory is not granted (root)" { check_helpers_exec root; }
@test "helpers and init are exec'd fresh even when nono's directory is not granted (user)" { check_helpers_exec user; }

check_outside_listener() {
	serve "$S/out/docker.sock" bad
	serve "$S/ok/granted.sock" fine
	# Every route: a direct connect, and through whatever process the agent can see.
	run contained "$1" --allow-unix-socket "$S/ok/granted.sock" -- \
		"$P/probe-unix" connect "$S/out/docker.sock"
	assert_failure 13
	refute_output --partial bad
	run contained "$1" --allow-unix-socket "$S/ok/granted.sock" -- /bin/sh -c "$after_helpers" "$P/probe-scan" "$SECRET" \
		"$P/probe-unix" "$S/ok/granted.sock"
	assert_success
	refute_output --regexp "PTRACE|pidfd_getfd|kill"
}
@test "a listener outside the grants stays unreachable by every route (root)" { check_outside_listener root; }
@test "a listener outside the grants stays unreachable by every route (user)" { check_outside_listener user; }

check_sysv_shm() {
	local id
	if [ "$1" = user ]; then
		id=$(setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups ipcmk -M 4096 -p 0666 | grep -o '[0-9]*$')
	else
		id=$(ipcmk -M 4096 -p 0666 | grep -o '[0-9]*$')
	fi
	[ -n "$id" ]
	run contained "$1" -- /usr/bin/python3 -c "
import ctypes, errno, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
r = libc.shmat($id, None, 0)
e = ctypes.get_errno()
print('attached' if r not in (None, ctypes.c_void_p(-1).value) else 'errno ' + errno.errorcode[e])
"
	ipcrm -m "$id"
	assert_success
	assert_output "errno EINVAL"
}
@test "host SysV shared memory is invisible inside (root)" { check_sysv_shm root; }
@test "host SysV shared memory is invisible inside (user)" { check_sysv_shm user; }

check_renice() {
	local pid
	if [ "$1" = user ]; then
		setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups sleep 4242.$TAG 3>&- &
	else
		sleep 4242.$TAG 3>&- &
	fi
	pid=$!
	SERVERS+=($pid)
	run contained "$1" -- /usr/bin/python3 -c "
import os, errno
try:
    os.setpriority(os.PRIO_PROCESS, $pid, 15)
    print('reniced')
except OSError as e:
    print('errno ' + errno.errorcode[e.errno])
"
	assert_success
	assert_output --regexp "^errno (ESRCH|EPERM)$"
	[ "$(ps -o ni= -p "$pid" | tr -d ' ')" = 0 ]
}
@test "a host process cannot be reniced from inside (root)" { check_renice root; }
@test "a host process cannot be reniced from inside (user)" { check_renice user; }

check_daemon() {
	# setsid + double fork: the grandchild sleeps on after the agent has exited.
	run contained "$1" -- /bin/sh -c "setsid /bin/sh -c 'sleep 4242.$TAG >/dev/null 2>&1 </dev/null & exit 0' & sleep 0.3; exit 7"
	assert_failure 7
	run pgrep -f "sleep 4242.$TAG"
	assert_failure 1
}
@test "a daemonised child is gone when nono run returns (root)" { check_daemon root; }
@test "a daemonised child is gone when nono run returns (user)" { check_daemon user; }

check_exit_status() {
	# The init passes the agent's status on, a death by signal included.
	run contained "$1" -- /bin/sh -c 'exit 42'
	assert_failure 42
	run contained "$1" -- /bin/sh -c 'kill -TERM $$'
	assert_failure 143
}
@test "the agent's exit status comes through the init (root)" { check_exit_status root; }
@test "the agent's exit status comes through the init (user)" { check_exit_status user; }

check_fallback() {
	# Nested in a sandbox nono cannot make namespaces (seccomp refuses new user
	# namespaces, the capabilities are gone): the inner supervisor, a child subreaper,
	# must end the daemon itself. The outer sandbox's end would hide a failure, so look
	# from inside it, right after the inner run returns.
	run contained "$1" --allow-net -- /bin/sh -c "
\"\$0\" run --dry-run -v -- true | grep '^Namespaces:'
\"\$0\" run --no-audit -- /bin/sh -c \"setsid /bin/sh -c 'sleep 4242.$TAG >/dev/null 2>&1 </dev/null & exit 0' & sleep 0.3; exit 7\"
echo inner=\$?
if pgrep -f '^sleep 4242.$TAG' >/dev/null; then echo LEFT; else echo GONE; fi" "$N"
	assert_success
	assert_output --partial "Namespaces: no pid/ipc"
	assert_output --partial "inner=7"
	assert_output --partial "GONE"
	refute_output --partial "LEFT"
}
@test "without namespaces the supervisor still ends what the command left running (root)" { check_fallback root; }
@test "without namespaces the supervisor still ends what the command left running (user)" { check_fallback user; }

check_report() {
	run contained "$1" --dry-run -v -- true
	assert_success
	assert_output --regexp "Namespaces: pid, ipc, mount.*PID 1 is nono's init"
	run contained "$1" --read "$(dirname "$N")" -- "$N" why --self --path /tmp
	assert_success
	assert_output --partial "Namespaces: pid, ipc (PID 1 is nono's init)"
}
@test "--dry-run -v and why --self name the namespaces in force (root)" { check_report root; }
@test "--dry-run -v and why --self name the namespaces in force (user)" { check_report user; }

check_signal_forward() {
	# SIGTERM to nono: the supervisor forwards it to the init, the init to the agent.
	local out="$T/data/sig.out"
	(contained "$1" -- /bin/sh -c 'trap "echo got-term; exit 5" TERM; while :; do sleep 0.1; done' \
		>"$out" 2>&1 3>&- || echo "rc=$?" >>"$out") &
	local bg=$!
	local pid=""
	for _ in $(seq 100); do
		pid=$(pgrep -f "^$N run --read $P -- /bin/sh -c trap" | head -1)
		[ -n "$pid" ] && pgrep -f "^nono __init" >/dev/null && break
		sleep 0.05
	done
	[ -n "$pid" ]
	sleep 0.3
	kill -TERM "$pid"
	wait "$bg" || true
	run cat "$out"
	assert_output --partial "got-term"
	assert_output --partial "rc=5"
}
@test "signals sent to nono reach the agent through the init (root)" { check_signal_forward root; }
@test "signals sent to nono reach the agent through the init (user)" { check_signal_forward user; }
