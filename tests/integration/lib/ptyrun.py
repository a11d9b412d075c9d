#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Run a command on a fresh pseudo-terminal and play a script against it, for the PTY
# tests (pty.bats). Usage: ptyrun.py ACTION... -- ARGV...
#   e:TEXT  wait (up to 20 s) until TEXT has been output    w:TEXT  type TEXT (\x03 ...)
#   r:RxC   resize the terminal                             k:SIG   signal the command
#   m       record the terminal's modes now (MID raw|cooked)
# The command is killed if still running 60 s after the script (TIMEOUT line).
# Prints the output (CR removed), then STATUS <exit code>, MODES same|changed (the
# terminal's modes after the command ended against before it started), OUTER <tty>.
import fcntl, os, pty, select, signal, struct, sys, termios, time

i = sys.argv.index('--')
script, argv = sys.argv[1:i], sys.argv[i + 1:]
pid, fd = pty.fork()
if pid == 0:
    # As a terminal's session starts: Ctrl-C and Ctrl-\ act, even when this runs under
    # a background job of a non-interactive shell (which ignores SIGINT and SIGQUIT).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)
    os.execvp(argv[0], argv)
TIOCGPTN = 0x80045430
outer = '/dev/pts/%d' % struct.unpack('I', fcntl.ioctl(fd, TIOCGPTN, b'\0' * 4))[0]
before = termios.tcgetattr(fd)
out = b''
mid = []


def pump(t):
    global out
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], max(0, end - time.time()))
        if not r:
            break
        try:
            d = os.read(fd, 65536)
        except OSError:
            return False
        if not d:
            return False
        out += d
    return True


for a in script:
    k, _, v = a.partition(':')
    if k == 'w':
        os.write(fd, v.encode().decode('unicode_escape').encode('latin1'))
    elif k == 'e':
        end = time.time() + 20
        while v.encode() not in out and time.time() < end:
            if not pump(0.05):
                break
    elif k == 'r':
        rows, cols = map(int, v.split('x'))
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    elif k == 'k':
        os.kill(pid, getattr(signal, v))
    elif k == 'm':
        time.sleep(0.2)
        lflag = termios.tcgetattr(fd)[3]
        mid.append('raw' if not lflag & (termios.ICANON | termios.ECHO) else 'cooked')
end = time.time() + 60
while time.time() < end and pump(1):
    pass
# Bounded: a command still running after 60 s is killed and reported, never waited for.
done, st = os.waitpid(pid, os.WNOHANG)
for _ in range(10):
    if done:
        break
    time.sleep(0.1)
    done, st = os.waitpid(pid, os.WNOHANG)
if not done:
    print('TIMEOUT: still running after 60 s, killed')
    os.kill(pid, signal.SIGKILL)
    _, st = os.waitpid(pid, 0)
after = termios.tcgetattr(fd)
sys.stdout.write(out.decode(errors='replace').replace('\r', ''))
print('\nSTATUS %d' % os.waitstatus_to_exitcode(st))
for m in mid:
    print('MID %s' % m)
print('MODES %s' % ('same' if before[:4] == after[:4] else 'changed'))
print('OUTER %s' % outer)
