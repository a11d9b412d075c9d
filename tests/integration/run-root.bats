#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# What root keeps inside the sandbox (nothing), host secrets root could read by owning
# them, ambient credentials in the environment, and the audit chain's shared state.

load lib/common

setup() { common_setup; }
teardown() { common_teardown; }

# Every capability set is empty inside, for root as for any user.
check_caps() {
	run sandboxed "$1" --read /proc -- /usr/bin/grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/self/status
	assert_success
	[ "$(echo "$output" | wc -l)" -eq 5 ]
	refute_output --regexp $'\t0*[1-9a-f][0-9a-f]*$'
	echo "$output" | while read -r _ v; do [ "$v" = 0000000000000000 ]; done
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
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
found = written = 0
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        maps = open(f"/proc/{pid}/maps").read()
    except OSError:
        continue
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
print(f"found={found} written={written}")
PY
	chmod 644 "$T/poke.py"
	run sandboxed "$1" --read "$T/poke.py" -- /usr/bin/python3 "$T/poke.py"
	assert_success
	assert_output --partial "found=0 written=0"
	local d
	d=$(find "$H/.nono/audit" -mindepth 1 -maxdepth 1 -type d)
	[ "$(echo "$d" | wc -l)" -eq 1 ]
	run env HOME="$H" "$N" audit verify "$(basename "$d")"
	assert_success
}
@test "no writable shared mapping reaches the sandbox; audit verify passes (root)" { check_audit_mapping root; }
@test "no writable shared mapping reaches the sandbox; audit verify passes (user)" { check_audit_mapping user; }
