# rsterr.py DATA FILE COMMAND...: runs COMMAND with a TCP connection as its
# stdin that yields DATA, then (once FILE exists: a task made it) a reset,
# which the reader sees as a read error (ECONNRESET).
import os, socket, struct, subprocess, sys, time
data = sys.argv[1].encode().decode('unicode_escape').encode('latin-1')
srv = socket.socket()
srv.bind(('127.0.0.1', 0))
srv.listen(1)
cli = socket.create_connection(srv.getsockname())
conn, _ = srv.accept()
conn.sendall(data)
p = subprocess.Popen(sys.argv[3:], stdin=cli)
cli.close()
deadline = time.time() + 20
while not os.path.exists(sys.argv[2]) and time.time() < deadline:
    time.sleep(0.01)
conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
conn.close()
sys.exit(p.wait())
