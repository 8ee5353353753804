"""Runs a command with its stderr (and stdout) on a pseudo-terminal of a given width and
prints what the terminal received, byte for byte, to stdout (for tests/cli/test_progress.sh).
usage: pty_run.py COLUMNS command args..."""
import fcntl
import os
import pty
import struct
import sys
import termios

cols = int(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.environ["COLUMNS"] = str(cols)
    os.execvp(sys.argv[2], sys.argv[2:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
out = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
