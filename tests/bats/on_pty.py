# on_pty.py COLUMNS COMMAND...: runs COMMAND with its stdout and stderr on
# a new pseudo-terminal COLUMNS wide (0: one that does not say its width),
# stdin from /dev/null, and copies what it wrote there to our stdout; exits
# with COMMAND's status.
import fcntl, os, struct, subprocess, sys, termios
master, slave = os.openpty()
# Set before COMMAND starts, so that its first look sees it.
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 24, int(sys.argv[1]), 0, 0))
# No newline translation: the bytes as they were written.
attrs = termios.tcgetattr(slave)
attrs[1] &= ~termios.OPOST
termios.tcsetattr(slave, termios.TCSANOW, attrs)
p = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
os.close(slave)
out = bytearray()
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:  # EIO: every writer has closed the terminal
        break
    if not chunk:
        break
    out += chunk
sys.stdout.buffer.write(out)
sys.exit(p.wait())
