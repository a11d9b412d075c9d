#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/launch: time to launch /bin/true under nono and its peers (issue 18).

Every round runs each contender once, in a shuffled order, so drift on the machine
(frequency, cache, other load) spreads evenly over them. Prints the median wall time of
each, the time each adds over bare /bin/true, and the ratios the issue sets as goals:

  nono run (plain, with deny masks, --block-net)   <= 0.5 x bubblewrap's added time
  nono run --allow-domain (proxy mode)              <= 1.0 x bubblewrap's
  nono wrap (Landlock + seccomp, no namespaces)     <= 1.5 x the kernel's sample sandboxer

Peers: bwrap as in the issue (--ro-bind / / --dev /dev --proc /proc --bind W W), and the
same with the namespaces nono run now uses (PID + IPC; a network namespace for
--block-net); firejail --noprofile; samples/landlock/sandboxer.c, built here from
Debian's linux-source package when it is installed (tools/install-deps.sh --bench).

The floor rows (bench/floor.c, root only) do the kernel work `nono run` cannot do
without and nothing else: namespaces; then read-only mounts, Landlock and seccomp; then
the new per-session record nono's format requires, made durable at the end; then the
same with the deny masks, or with the network namespace of proxy mode (--block-net
needs none: it is seccomp's and Landlock's); and wrap's: no fork, mount and IPC
namespaces for the process itself, the same mounts, Landlock and seccomp. No launcher with those guarantees can take
less. For each goal the floor's ratio is printed, and what the goal leaves above the
floor for everything else, beside what nono needs before it starts anything: its own
exec and the resolution of the policy (`run --dry-run`, timed in the same rounds).

Usage: bench/launch.py [path/to/nono]   env: BENCH_ROUNDS (default 60), BENCH_DIR (where
the work directory goes; default beside the nono binary, never /tmp),
NONO_BASELINE=path/to/an/older/nono (its rows in the same rounds, as "base ...").
"""
import glob
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

ROUNDS = int(os.environ.get('BENCH_ROUNDS', '60'))
nono = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else 'build/nono')
# Not under /tmp: a project there is bound back into the private /tmp, a cost a
# project in the home directory (the usual place) does not pay. BENCH_DIR overrides.
work = tempfile.mkdtemp(prefix='bench-launch-',
                        dir=os.environ.get('BENCH_DIR') or os.path.dirname(nono))
home = os.path.join(work, 'home')
for d in ['.ssh', '.aws', '.gnupg', '.kube', '.docker', '.config/gcloud', 'project']:
    os.makedirs(os.path.join(home, d), exist_ok=True)
for f in ['.bash_history', '.zsh_history', '.bashrc', '.ssh/id_rsa']:
    open(os.path.join(home, f), 'w').write('x\n')
cwd = os.path.join(home, 'project')
env = dict(os.environ, HOME=home)
notes = []


def sample_sandboxer():
    """The kernel's samples/landlock/sandboxer, compiled from linux-source, or None."""
    tars = sorted(glob.glob('/usr/src/linux-source-*.tar.*'))
    cc = shutil.which('cc') or shutil.which('gcc')
    if not tars or not cc:
        notes.append('sandboxer: no /usr/src/linux-source-*.tar.* (apt-get install '
                     'linux-source) or no C compiler: row left out')
        return None
    cache = os.path.join(os.path.dirname(nono), 'bench-sandboxer')
    exe = os.path.join(cache, 'sandboxer')
    if os.path.exists(exe) and os.path.getmtime(exe) >= os.path.getmtime(tars[-1]):
        return exe
    os.makedirs(os.path.join(cache, 'linux'), exist_ok=True)
    want = {'samples/landlock/sandboxer.c': 'sandboxer.c',
            'include/uapi/linux/landlock.h': 'linux/landlock.h'}
    with tarfile.open(tars[-1]) as t:
        for m in t:
            rel = m.name.split('/', 1)[-1]
            if rel in want:
                with open(os.path.join(cache, want.pop(rel)), 'wb') as out:
                    out.write(t.extractfile(m).read())
                if not want:
                    break
    if want:
        notes.append(f'sandboxer: {tars[-1]} lacks {", ".join(want)}: row left out')
        return None
    r = subprocess.run([cc, '-O2', '-I', cache, '-o', exe, os.path.join(cache, 'sandboxer.c')],
                       stderr=subprocess.PIPE)
    if r.returncode != 0:
        notes.append(f'sandboxer: does not build ({r.stderr.decode()[:200]}): row left out')
        return None
    return exe


def floor():
    """bench/floor.c, compiled beside the binary, or None."""
    cc = shutil.which('cc') or shutil.which('gcc')
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'floor.c')
    if not cc:
        notes.append('floor: no C compiler: rows left out')
        return None
    exe = os.path.join(os.path.dirname(nono), 'bench-floor')
    r = subprocess.run([cc, '-std=gnu17', '-O2', '-o', exe, src], stderr=subprocess.PIPE)
    if r.returncode != 0:
        notes.append(f'floor: does not build ({r.stderr.decode()[:200]}): rows left out')
        return None
    return exe


def nono_rows(binary, prefix):
    return {
        prefix + 'run --dry-run': [binary, 'run', '--dry-run', '--allow', cwd, '--',
                                   '/bin/true'],
        prefix + 'wrap --dry-run': [binary, 'wrap', '--dry-run', '--allow', cwd, '--',
                                    '/bin/true'],
        prefix + 'wrap': [binary, 'wrap', '--allow', cwd, '--', '/bin/true'],
        prefix + 'run': [binary, 'run', '--allow', cwd, '--', '/bin/true'],
        prefix + 'run --no-audit': [binary, 'run', '--no-audit', '--allow', cwd, '--',
                                    '/bin/true'],
        prefix + 'run masks': [binary, 'run', '--allow', home, '--', '/bin/true'],
        prefix + 'run --block-net': [binary, 'run', '--allow', cwd, '--block-net', '--',
                                     '/bin/true'],
        prefix + 'run proxy': [binary, 'run', '--allow', cwd, '--allow-domain', 'example.com',
                               '--', '/bin/true'],
    }


masks, masked = [], []
for d in ['.ssh', '.aws', '.gnupg', '.kube', '.docker', '.config/gcloud']:
    masks += ['--tmpfs', os.path.join(home, d)]
    masked.append(os.path.join(home, d))
for f in ['.bash_history', '.zsh_history', '.bashrc']:
    masks += ['--ro-bind', '/dev/null', os.path.join(home, f)]
    masked.append(os.path.join(home, f))

contenders = {'bare': ['/bin/true']}
contenders.update(nono_rows(nono, 'nono '))
baseline = os.environ.get('NONO_BASELINE')
if baseline:
    contenders.update(nono_rows(os.path.abspath(baseline), 'base '))
if shutil.which('bwrap'):
    bw = ['bwrap', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc',
          '--die-with-parent']
    ns = ['--unshare-pid', '--unshare-ipc']
    contenders['bwrap'] = bw + ['--bind', cwd, cwd, '/bin/true']
    contenders['bwrap masks'] = bw + ['--bind', home, home] + masks + ['/bin/true']
    contenders['bwrap pid+ipc'] = bw + ns + ['--bind', cwd, cwd, '/bin/true']
    contenders['bwrap pid+ipc masks'] = bw + ns + ['--bind', home, home] + masks + ['/bin/true']
    contenders['bwrap pid+ipc+net'] = bw + ns + ['--unshare-net', '--bind', cwd, cwd,
                                                 '/bin/true']
else:
    notes.append('bwrap: not installed (tools/install-deps.sh --bench): ratios left out')
if shutil.which('firejail'):
    contenders['firejail'] = ['firejail', '--noprofile', '--quiet', '/bin/true']
fl = floor()
if fl:
    contenders['floor wrap'] = [fl, 'inplace,fs', cwd, '--', '/bin/true']
    contenders['floor ns'] = [fl, 'ns', cwd, '--', '/bin/true']
    contenders['floor fs'] = [fl, 'fs', cwd, '--', '/bin/true']
    contenders['floor record'] = [fl, 'fs,record', cwd, '--', '/bin/true']
    contenders['floor record masks'] = [fl, 'fs,record', home] + masked + ['--', '/bin/true']
    contenders['floor record net'] = [fl, 'fs,record,net', cwd, '--', '/bin/true']
sb = sample_sandboxer()
if sb:
    contenders['sandboxer'] = [sb, '/bin/true']
    env['LL_FS_RO'] = '/'
    env['LL_FS_RW'] = cwd

# Every contender must work before it is timed.
for name, argv in list(contenders.items()):
    r = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    if r.returncode != 0:
        why = r.stderr.decode().strip()[:200] or f'exit {r.returncode}'
        if name.startswith('floor') and os.getuid() != 0:
            why += ': the floor makes its namespaces without a user namespace, as root'
        notes.append(f'{name}: fails ({why}), left out')
        del contenders[name]

times = {k: [] for k in contenders}
for _ in range(ROUNDS):
    order = list(contenders.items())
    random.shuffle(order)
    for name, argv in order:
        t0 = time.perf_counter_ns()
        subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        times[name].append(time.perf_counter_ns() - t0)

med = {k: statistics.median(v) / 1e6 for k, v in times.items()}
bare = med['bare']
added = {k: v - bare for k, v in med.items()}
print(f'{ROUNDS} interleaved rounds as uid {os.getuid()}, median wall time per launch:')
for k, v in med.items():
    print(f'  {k:24s} {v:8.3f} ms   added {added[k]:7.3f} ms')
print('ratios of added time (goal in brackets):')
goals = [('nono run', 'bwrap', 0.5), ('nono run masks', 'bwrap masks', 0.5),
         ('nono run --block-net', 'bwrap', 0.5), ('nono run proxy', 'bwrap', 1.0),
         ('nono wrap', 'sandboxer', 1.5),
         # Like for like: the namespaces nono run sets up today.
         ('nono run', 'bwrap pid+ipc', 0.5), ('nono run masks', 'bwrap pid+ipc masks', 0.5),
         ('nono run --block-net', 'bwrap pid+ipc+net', 0.5),
         ('nono run', 'firejail', None)]
# The floor under each goal: (what it bounds, floor row, peer, goal).
floors = [('run, --block-net', 'floor record', 'bwrap', 0.5),
          ('run masks', 'floor record masks', 'bwrap masks', 0.5),
          ('run proxy', 'floor record net', 'bwrap', 1.0),
          ('wrap', 'floor wrap', 'sandboxer', 1.5)]
# What nono does before it starts anything: its exec and the policy's resolution.
if baseline:
    goals += [('nono ' + r, 'base ' + r, None)
              for r in ['wrap', 'run', 'run --no-audit', 'run masks', 'run --block-net',
                        'run proxy']]


def ratios(rows, met, missed):
    for mine, peer, goal in rows:
        if mine in added and peer in added and added[peer] > 0:
            ratio = added[mine] / added[peer]
            verdict = '' if goal is None else (met if ratio <= goal else missed)
            g = '' if goal is None else f' [<= {goal}]'
            print(f'  {mine:22s} / {peer:22s} {ratio:5.2f}{g}{verdict}')


ratios(goals, ' met', ' NOT met')
if any(r[1] in added for r in floors):
    print('the floor under each goal (no launcher with these guarantees takes less):')
    for what, fl, peer, goal in floors:
        if fl in added and peer in added and added[peer] > 0:
            slack = goal * added[peer] - added[fl]
            line = (f'  {what:18s} {fl:18s} / {peer:12s} {added[fl] / added[peer]:5.2f}'
                    f' [goal {goal}]: leaves {slack:6.3f} ms')
            dry = 'nono ' + ('wrap' if what == 'wrap' else 'run') + ' --dry-run'
            if dry in added:
                line += f'; {dry} alone adds {added[dry]:.3f}'
            print(line)
    for mine, fl in [('nono run', 'floor record'), ('nono run masks', 'floor record masks'),
                     ('nono run proxy', 'floor record net'), ('nono wrap', 'floor wrap')]:
        if mine in added and fl in added and added[fl] > 0:
            print(f'  {mine:22s} / {fl:22s} {added[mine] / added[fl]:5.2f}')
for n in notes:
    print('note: ' + n)
shutil.rmtree(work)
