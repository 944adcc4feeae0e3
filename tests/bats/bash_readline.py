# bash_readline.py COMPLETION-FILE LINE: types LINE, a TAB and Enter into an
# interactive bash on a pseudo-terminal, after sourcing COMPLETION-FILE and
# making poolrun a function that prints each of its arguments as <ARG>:
# what it prints shows how readline completed and quoted the last word.
# Prints those lines; exits 1 if bash does not answer within 20 s.
import os, pty, select, subprocess, sys, time

comp, line = sys.argv[1], sys.argv[2]
master, slave = pty.openpty()
env = dict(os.environ, PS1='$ ', PS2='> ', INPUTRC='/dev/null', TERM='dumb')
p = subprocess.Popen(['bash', '--norc', '--noprofile', '-i'], stdin=slave,
                     stdout=slave, stderr=slave, env=env, start_new_session=True)
os.close(slave)
out = bytearray()


def read_until(marker, deadline):
    while marker not in out:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([master], [], [], left)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return False
            if not chunk:
                return False
            out.extend(chunk)
    return True


deadline = time.monotonic() + 20
setup = ("source '%s'; poolrun() { printf '<%%s>\\n' \"$@\"; "
         "echo @@do''ne@@; }\n" % comp.replace("'", "'\\''"))
os.write(master, setup.encode())
# The TAB alone, once bash has read the line before (else readline may
# see it before the completion is defined).
# (The markers are quoted in what is typed, which the terminal echoes.)
os.write(master, b"echo @@rea''dy@@\n")
ok = read_until(b'@@ready@@\r\n', deadline)
start = len(out)
os.write(master, line.encode() + b'\t')
os.write(master, b'\n')
ok = ok and read_until(b'@@done@@', deadline)
os.write(master, b'exit\n')
try:
    p.wait(timeout=5)
except subprocess.TimeoutExpired:
    p.kill()
text = out[start:].decode(errors='replace').replace('\r', '')
for l in text.split('\n'):
    if l.startswith('<') and l.endswith('>'):
        print(l)
sys.exit(0 if ok else 1)
