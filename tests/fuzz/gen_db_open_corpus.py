# Seeds for fuzz_db_open: databases of ours (empty, small, big), a hot journal left by an
# interrupted save, and a zero-byte file, in the input layout fuzz_db_open.cpp reads (first byte =
# what to do with the rest). Usage: /usr/bin/python3 tests/fuzz/gen_db_open_corpus.py [OUTDIR]
import os, sqlite3, struct
import sys, tempfile
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "db_open"); os.makedirs(out, exist_ok=True)
def fnv(s):
    h = 1469598103934665603
    for c in s.encode():
        h ^= c; h = (h * 1099511628211) & 0xffffffffffffffff
    return format(h, "x")
def make(path, lines):
    for p in (path, path + "-journal"):
        if os.path.exists(p): os.unlink(p)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA application_id = %d" % 0x46574443)
    db.execute("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("CREATE TABLE config_lines(seq INTEGER PRIMARY KEY, line TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES('schema','1')")
    if lines is not None:
        for i, l in enumerate(lines): db.execute("INSERT INTO config_lines VALUES(?,?)", (i, l))
        text = "".join(l + "\n" for l in lines)
        db.executemany("INSERT INTO meta VALUES(?,?)", [("lines", str(len(lines))), ("digest", fnv(text)), ("saved_at", "1764000000")])
    db.close()
    return open(path, "rb").read()
tmpdir = tempfile.mkdtemp()
tmp = os.path.join(tmpdir, "x.db")
seeds = {
  "empty_ours": make(tmp, None),
  "small_ours": make(tmp, ["#", " sysname FW", "return"]),
  "big_ours": make(tmp, [" rule name r%d action permit" % i for i in range(300)]),
}
for n, b in seeds.items():
    open(os.path.join(out, "raw_" + n), "wb").write(b"\x00" + b)
# a hot journal: spill a big uncommitted change to the file, then die
make(tmp, [" rule name r%d action permit" % i for i in range(300)])
pid = os.fork()
if pid == 0:
    db = sqlite3.connect(tmp, isolation_level=None)
    db.execute("PRAGMA cache_size = 1")
    db.execute("BEGIN IMMEDIATE")
    db.execute("DELETE FROM config_lines")
    db.execute("INSERT INTO config_lines VALUES(0, 'half')")
    db.execute("UPDATE meta SET value='1' WHERE key='lines'")
    os._exit(0)
os.waitpid(pid, 0)
d = open(tmp, "rb").read(); j = open(tmp + "-journal", "rb").read()
print("hot journal", len(d), len(j), j[:8].hex())
split = len(d)
open(os.path.join(out, "hot_journal"), "wb").write(b"\x01" + struct.pack(">H", split % 65536) + d + j)
for i, t in enumerate([b"", b"sysname FW\nreturn\n", b"#\n firewall zone trust\n add interface eth0\n#\n"]):
    open(os.path.join(out, "ours_%d" % i), "wb").write(b"\x02" + bytes([len(t)]) + t)
    open(os.path.join(out, "ours_replace_%d" % i), "wb").write(b"\x06" + bytes([len(t)]) + t)
open(os.path.join(out, "zero"), "wb").write(b"\x00")
open(os.path.join(out, "zero_replace"), "wb").write(b"\x04")
