#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# What root keeps inside the sandbox (nothing), host secrets root could read by owning
# them, ambient credentials in the environment, and the audit chain's shared state.

load lib/common

setup() { common_setup; }
teardown() { common_teardown; }

# Every capability set is empty inside for root. A user's bounding set stays as the
# kernel gave it (dropping needs CAP_SETPCAP; with no_new_privs it grants nothing),
# every other set is empty.
check_caps() {
	run sandboxed "$1" --read /proc -- /usr/bin/grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/self/status
	assert_success
	[ "$(echo "$output" | wc -l)" -eq 5 ]
	local k v
	while read -r k v; do
		[ "$1" = user ] && [ "$k" = CapBnd: ] && continue
		[ "$v" = 0000000000000000 ] || { echo "$k $v" >&2; return 1; }
	done <<<"$output"
}
@test "no capability survives in any set (root)" { check_caps root; }
@test "no capability survives in any set (user)" { check_caps user; }

# uid 0 without capabilities still owns /etc/shadow: the required group masks it.
check_shadow() {
	[ -e /etc/shadow ] || { [ -z "${NONO_TESTS_MUST_RUN:-}" ] || false; skip "no /etc/shadow"; }
	run sandboxed "$1" --read /etc -- "$P/probe-read-print" /etc/shadow
	# The mask is empty (reads as nothing) or refuses the open with EACCES.
	if [ "$status" -ne 0 ]; then
		assert_failure 13
		assert_output --partial EACCES
	fi
	refute_output --partial 'root:'
	# The rest of /etc stays readable.
	run sandboxed "$1" --read /etc -- "$P/probe-read-print" /etc/passwd
	assert_success
	assert_output --partial 'root:'
}
@test "/etc/shadow is unreadable inside --read /etc (root)" { check_shadow root; }
@test "/etc/shadow is unreadable inside --read /etc (user)" { check_shadow user; }

@test "/root is protected unless it is \$HOME" {
	mkdir -p /root
	run nono_as root run --dry-run -v --read /root -- true
	assert_success
	assert_output --partial '/root (deny_system_secrets_linux)'
	run env -i PATH=/usr/bin:/bin HOME=/root "$N" run --dry-run -v --read /root -- true
	assert_success
	refute_output --partial '/root (deny_system_secrets_linux)'
}

# The audit chain state is a shared writable mapping in the supervisor. The agent looks
# for it in every process it can see (its own, the AF_UNIX mediation helpers) and
# overwrites what it finds through /proc/PID/mem; the record must still verify.
check_audit_mapping() {
	cat >"$T/poke.py" <<'PY'
import ctypes, os, subprocess
libc = ctypes.CDLL(None, use_errno=True)
class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
own = subprocess.Popen(["/bin/sleep", "30"])  # one process surely readable
found = written = scanned = 0
for pid in os.listdir("/proc"):
    if not pid.isdigit() or int(pid) == os.getpid():
        continue
    try:
        maps = open(f"/proc/{pid}/maps").read()
    except OSError:
        continue
    if not maps:
        continue  # a kernel thread: no memory
    scanned += 1
    for line in maps.splitlines():
        f = line.split()
        if len(f) >= 6 and f[1][3] == "s" and f[1][1] == "w" and f[5] == "/dev/zero":
            found += 1
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            buf = ctypes.create_string_buffer(b"\xff" * (hi - lo))
            local = iovec(ctypes.cast(buf, ctypes.c_void_p), hi - lo)
            remote = iovec(lo, hi - lo)
            n = libc.process_vm_writev(int(pid), ctypes.byref(local), 1,
                                       ctypes.byref(remote), 1, 0)
            if n == hi - lo:
                written += 1
            else:
                print("write", pid, os.strerror(ctypes.get_errno()))
own.kill()
print(f"scanned={scanned} found={found} written={written}")
PY
	chmod 644 "$T/poke.py"
	run sandboxed "$1" --read "$T/poke.py" -- /usr/bin/python3 "$T/poke.py"
	assert_success
	assert_output --regexp 'scanned=[1-9][0-9]* found=0 written=0'
	local d
	d=$(find "$H/.nono/audit" -mindepth 1 -maxdepth 1 -type d)
	[ "$(echo "$d" | wc -l)" -eq 1 ]
	run env HOME="$H" "$N" audit verify "$(basename "$d")"
	assert_success
}
@test "no writable shared mapping reaches the sandbox; audit verify passes (root)" { check_audit_mapping root; }
@test "no writable shared mapping reaches the sandbox; audit verify passes (user)" { check_audit_mapping user; }

# Ambient credentials leave the environment unless passed through by name.
check_ambient_env() {
	local who=$1 env=(GITHUB_TOKEN=ghp_secret AWS_SECRET_ACCESS_KEY=aws_secret OP_SESSION_my=op_secret PROJECT_NAME=kept)
	run nono_env "$who" "${env[@]}" -- run --no-audit -- /usr/bin/env
	assert_success
	refute_output --partial ghp_secret
	refute_output --partial aws_secret
	refute_output --partial op_secret
	assert_output --partial PROJECT_NAME=kept
	run nono_env "$who" "${env[@]}" -- run --no-audit --pass-env GITHUB_TOKEN -- /usr/bin/env
	assert_success
	assert_output --partial GITHUB_TOKEN=ghp_secret
	refute_output --partial aws_secret
	# A profile passes one through too; --dry-run -v names what goes.
	printf '{"extends": "default", "meta": {"name": "pe"}, "pass_env": ["AWS_SECRET_ACCESS_KEY"]}\n' >"$T/pe.json"
	chmod 644 "$T/pe.json"
	run nono_env "$who" "${env[@]}" -- run --no-audit --profile "$T/pe.json" -- /usr/bin/env
	assert_success
	assert_output --partial AWS_SECRET_ACCESS_KEY=aws_secret
	refute_output --partial ghp_secret
	run nono_env "$who" "${env[@]}" -- run --dry-run -v -- true
	assert_success
	assert_output --regexp 'Ambient credentials removed from the environment:.*GITHUB_TOKEN'
	assert_output --regexp 'removed from the environment:.*OP_SESSION_my'
	refute_output --partial ghp_secret
	# Loader variables cannot be passed.
	run nono_env "$who" -- run --no-audit --pass-env LD_PRELOAD -- true
	assert_failure 1
	assert_output --partial "cannot pass 'LD_PRELOAD'"
}
# nono_env root|user VAR=VALUE... -- ARGS: nono with the test HOME plus exactly those
# variables, as root or as uid 65534.
nono_env() {
	local who=$1 vars=()
	shift
	while [ "$1" != -- ]; do
		vars+=("$1")
		shift
	done
	shift
	if [ "$who" = user ]; then
		setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \
			env -i PATH=/usr/bin:/bin HOME="$H" TMPDIR=/tmp "${vars[@]}" "$N" "$@"
	else
		env -i PATH=/usr/bin:/bin HOME="$H" TMPDIR=/tmp "${vars[@]}" "$N" "$@"
	fi
}
@test "ambient credentials are removed unless passed through (root)" { check_ambient_env root; }
@test "ambient credentials are removed unless passed through (user)" { check_ambient_env user; }

# A --credential secret (here from env://) must not sit in any process the agent can
# read: not in the helpers forked from the child's copy of nono's memory, not in the
# environment nono's copy carries. The agent scans every process it can see.
check_secret_memory() {
	local who=$1 key="sk-nono-scan-$RANDOM$RANDOM-real-secret"
	cat >"$T/scan.py" <<'PY'
import ctypes, os, subprocess, sys
needle = sys.argv[1][::-1].encode()  # given reversed: argv copies must not match
# At least one process the scan can surely read (proves the scan works wherever the
# helpers are out of reach).
own = subprocess.Popen(["/bin/sleep", "30"])
libc = ctypes.CDLL(None, use_errno=True)
class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
me, seen, found = os.getpid(), 0, 0
for pid in os.listdir("/proc"):
    if not pid.isdigit() or int(pid) == me:
        continue
    try:
        maps = open(f"/proc/{pid}/maps").read().splitlines()
    except OSError:
        continue
    for line in maps:
        f = line.split()
        if f[1][0] != "r":
            continue
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        if hi - lo > 64 << 20:
            continue
        buf = ctypes.create_string_buffer(hi - lo)
        local, remote = iovec(ctypes.cast(buf, ctypes.c_void_p), hi - lo), iovec(lo, hi - lo)
        n = libc.process_vm_readv(int(pid), ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
        if n > 0:
            seen += 1
            if needle in buf.raw[:n]:
                found += 1
                print("secret in", pid, f[0], f[-1])
own.kill()
print(f"regions={seen} found={found}")
PY
	chmod 644 "$T/scan.py"
	cat >"$T/cred.json" <<-EOF
	{
	  "meta": {"name": "scan"},
	  "extends": "default",
	  "network": {
	    "credentials": ["scan"],
	    "custom_credentials": {
	      "scan": {"upstream": "https://127.0.0.1:9", "credential_key": "env://NONO_SCAN_KEY"}
	    }
	  }
	}
	EOF
	chmod 644 "$T/cred.json"
	run nono_env "$who" NONO_SCAN_KEY="$key" -- run --no-audit --profile "$T/cred.json" \
		--read "$T/scan.py" -- /usr/bin/python3 "$T/scan.py" "$(echo "$key" | rev)"
	assert_success
	assert_output --regexp 'regions=[1-9][0-9]* found=0'
	refute_output --partial "secret in"
}
@test "no process the agent can read holds a --credential secret (root)" { check_secret_memory root; }
@test "no process the agent can read holds a --credential secret (user)" { check_secret_memory user; }
