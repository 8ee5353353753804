"""Extracts the runnable command blocks of README.md for tests/cli/test_readme.sh.

usage: readme_blocks.py README.md OUT_DIR
Writes OUT_DIR/NNN.sh (one per shell command) and OUT_DIR/NNN.py (one per python block) from
the quick start (before the first "## " heading), "## What it does" and "## Usage" with its
"### " subsections. Shell lines are joined at trailing backslashes and cut at " # " comments;
`make train` / `make check` (the whole install and CI), `mpirun` (MPI) and `pip` (network)
are skipped. Substitutions, so that every command runs fast on small generated data in the
test's directory: build/dpmlp -> $DPMLP, data/fashion -> $FASHION (a tiny MNIST-layout
directory), --epochs N -> --epochs 1, "[--proba]" -> "--proba", `make X` -> make -C $REPO X.
Each file's first line is a comment with the README line it came from."""
import os
import re
import sys

readme, out = sys.argv[1], sys.argv[2]
lines = open(readme).read().split("\n")
in_scope, block, lang, start, n = True, None, None, 0, 0
SKIP = re.compile(r"^(make (train|check)\b|mpirun\b|pip\b|apt-get\b)")


def sub(cmd):
    cmd = cmd.replace("build/dpmlp", '"$DPMLP"').replace("data/fashion", '"$FASHION"')
    cmd = re.sub(r"--epochs \d+", "--epochs 1", cmd)
    cmd = cmd.replace("[--proba]", "--proba")
    return re.sub(r"^make ", 'make --no-print-directory -s -C "$REPO" BUILD="$BUILD" ', cmd)


def emit(ext, text, lineno):
    global n
    n += 1
    with open(os.path.join(out, f"{n:03d}.{ext}"), "w") as f:
        f.write(f"# README.md:{lineno}\n{text}\n")


for i, line in enumerate(lines, 1):
    if block is None and line.startswith("## "):
        in_scope = line.startswith("## What it does") or line.startswith("## Usage")
    if block is None and line.startswith("```"):
        block, lang, start = [], line[3:].strip(), i
        continue
    if block is not None and line.startswith("```"):
        if in_scope and lang == "python":
            emit("py", "\n".join(block), start)
        elif in_scope and lang == "sh":
            joined, cur, cur_line = [], "", start + 1
            for j, b in enumerate(block):
                if not cur:
                    cur_line = start + 1 + j
                cur += b[:-1] + " " if b.endswith("\\") else b
                if not b.endswith("\\"):
                    joined.append((cur_line, cur))
                    cur = ""
            for lineno, cmd in joined:
                cmd = re.sub(r"\s+#\s.*$", "", cmd).strip()
                if cmd and not cmd.startswith("#") and not SKIP.match(cmd):
                    emit("sh", sub(cmd), lineno)
        block = None
        continue
    if block is not None:
        block.append(line)
print(n)
