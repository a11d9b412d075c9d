# SPDX-License-Identifier: Apache-2.0
# start_keyring WHO ITEM...: a private session bus with the fake Secret Service
# (lib/fake-secret-service.py) holding ITEMs ("attr=v,attr=v:secret"), run as WHO
# (root or user). Sets BUS, DBUS_PID and KR_PID; the caller's teardown kills them.
start_keyring() {
	local who=$1
	shift
	/usr/bin/python3 -c 'import dbus, gi' 2>/dev/null && command -v dbus-daemon >/dev/null ||
		skip_feature "python3-dbus, python3-gi or dbus-daemon missing (tools/install-deps.sh)"
	mkdir -p "$T/kr"
	cp "$BATS_TEST_DIRNAME/lib/fake-secret-service.py" "$T/kr/"
	chmod 755 "$T/kr/fake-secret-service.py"
	local as=()
	if [ "$who" = user ]; then
		chown "$NOBODY:$NOBODY" "$T/kr"
		as=(setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups)
	fi
	BUS="unix:path=$T/kr/bus"
	"${as[@]}" dbus-daemon --session --address="$BUS" --nofork --nopidfile 3>&- &
	DBUS_PID=$!
	for _ in $(seq 100); do [ -S "$T/kr/bus" ] && break; sleep 0.05; done
	"${as[@]}" env DBUS_SESSION_BUS_ADDRESS="$BUS" /usr/bin/python3 "$T/kr/fake-secret-service.py" "$@" \
		>"$T/kr/ready" 2>"$T/kr/log" 3>&- &
	KR_PID=$!
	for _ in $(seq 100); do grep -q ready "$T/kr/ready" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}
