# tty_input.py DATA COMMAND...: runs COMMAND with a terminal (a pty) as its
# stdin, stdout and stderr left as they are; types DATA (backslash escapes
# allowed: \x04 is Ctrl-D, which ends the input at the start of a line) and
# exits with COMMAND's status.  A terminal without script(1)'s side effects.
import os, pty, subprocess, sys
data = sys.argv[1].encode().decode('unicode_escape').encode('latin-1')
master, slave = pty.openpty()
p = subprocess.Popen(sys.argv[2:], stdin=slave)
os.close(slave)
os.write(master, data)
try:
    rc = p.wait(timeout=30)
except subprocess.TimeoutExpired:
    p.kill()
    rc = p.wait()
os.close(master)
sys.exit(rc)
