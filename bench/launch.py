#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/launch: time to launch /bin/true under nono, bubblewrap and firejail.

Every round runs each command once, in a shuffled order, so drift on the machine
(frequency, cache, other load) spreads evenly over the contenders. Prints the median
wall time of each, the time each adds over bare /bin/true, and nono's added time as a
ratio of bubblewrap's (target: <= 0.5). Two settings: plain (no protected path under a
grant) and with deny masks in force (a home with ~/.ssh, ~/.aws, ... under --allow).
"""
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROUNDS = int(os.environ.get('BENCH_ROUNDS', '200'))
nono = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else 'build/nono')
work = tempfile.mkdtemp(prefix='nono-bench-')
home = os.path.join(work, 'home')
for d in ['.ssh', '.aws', '.gnupg', '.kube', '.docker', '.config/gcloud', 'project']:
    os.makedirs(os.path.join(home, d), exist_ok=True)
for f in ['.bash_history', '.zsh_history', '.bashrc', '.ssh/id_rsa']:
    open(os.path.join(home, f), 'w').write('x\n')
cwd = os.path.join(home, 'project')
env = dict(os.environ, HOME=home)

masks = []
for d in ['.ssh', '.aws', '.gnupg', '.kube', '.docker', '.config/gcloud']:
    masks += ['--tmpfs', os.path.join(home, d)]
for f in ['.bash_history', '.zsh_history', '.bashrc']:
    masks += ['--ro-bind', '/dev/null', os.path.join(home, f)]

contenders = {
    'bare': ['/bin/true'],
    'nono': [nono, 'run', '--allow-cwd', '--', '/bin/true'],
    'nono+masks': [nono, 'run', '--allow', home, '--', '/bin/true'],
}
# NONO_BASELINE=path/to/an/older/nono: the same two rows for it, in the same rounds, so
# a change's cost shows as a ratio against its own predecessor.
baseline = os.environ.get('NONO_BASELINE')
if baseline:
    baseline = os.path.abspath(baseline)
    contenders['base'] = [baseline, 'run', '--allow-cwd', '--', '/bin/true']
    contenders['base+masks'] = [baseline, 'run', '--allow', home, '--', '/bin/true']
if shutil.which('bwrap'):
    bw = ['bwrap', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc',
          '--bind', cwd, cwd, '--die-with-parent']
    contenders['bwrap'] = bw + ['/bin/true']
    contenders['bwrap+masks'] = bw[:-1] + ['--bind', home, home] + masks + ['/bin/true']
if shutil.which('firejail'):
    contenders['firejail'] = ['firejail', '--noprofile', '--quiet', '/bin/true']

# Every contender must work before it is timed.
for name, argv in list(contenders.items()):
    r = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    if r.returncode != 0:
        print(f'{name}: fails ({r.stderr.decode().strip()[:200]}), left out')
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
print(f'{ROUNDS} interleaved rounds, median wall time per launch:')
for k, v in med.items():
    print(f'  {k:12s} {v:8.3f} ms   added {v - bare:7.3f} ms')
for mine, peer in [('nono', 'bwrap'), ('nono+masks', 'bwrap+masks'), ('nono', 'firejail'),
                   ('nono', 'base'), ('nono+masks', 'base+masks')]:
    if mine in med and peer in med and med[peer] - bare > 0:
        print(f'  ratio added time {mine} / {peer}: {(med[mine] - bare) / (med[peer] - bare):.2f}')
shutil.rmtree(work)
