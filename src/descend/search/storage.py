"""The study database ``study.sqlite`` (the standard library's sqlite3): one row per trial, and the study's
settings, space and run configuration. Only the driver writes it; every write is one transaction, so a
killed driver leaves the last committed state.

Table ``trials``: trial, state (RUNNING / COMPLETE / FAILED / PRUNED), value, params (JSON), seed, rung,
rungs (JSON: the metric after each rung), epochs, metrics (JSON: the per-epoch logs), error, started and
finished (Unix times), seconds (time spent training), attempts, run_dir (relative to the study directory).
Table ``study``: key, value (JSON): format, settings, space, config, created, and at the end ``final``
(the best trial and its test metrics).
"""

import json
import os
import sqlite3
import time

from .settings import SearchError
from .trial import Trial, strict

FILE = "study.sqlite"
FORMAT = "descend-study-1"
COLUMNS = ("trial", "state", "value", "params", "seed", "rung", "rungs", "epochs", "metrics", "error", "started",
           "finished", "seconds", "attempts", "run_dir")
SCHEMA = """
CREATE TABLE study (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE trials (trial INTEGER PRIMARY KEY, state TEXT NOT NULL, value REAL, params TEXT NOT NULL,
    seed INTEGER NOT NULL, rung INTEGER NOT NULL, rungs TEXT NOT NULL, epochs INTEGER NOT NULL,
    metrics TEXT NOT NULL, error TEXT, started REAL, finished REAL, seconds REAL NOT NULL,
    attempts INTEGER NOT NULL, run_dir TEXT NOT NULL);
"""


def _json(obj):
    return json.dumps(strict(obj), allow_nan=False)


class Storage:
    """The study database of ``directory``: :meth:`create` a new one, or :meth:`open` an existing one."""

    def __init__(self, directory, connection):
        self.directory, self.db = os.path.abspath(directory), connection

    @classmethod
    def create(cls, directory, meta):
        """Write a new database holding ``meta`` (a dict of JSON values): built under a temporary name without
        a journal, synced once, then renamed, so a killed driver never leaves a half-made study."""
        path = os.path.join(directory, FILE)
        tmp = f"{path}.tmp{os.getpid()}"
        if os.path.exists(tmp):
            os.remove(tmp)
        db = sqlite3.connect(tmp, isolation_level=None)
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("BEGIN")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        db.executemany("INSERT INTO study VALUES (?, ?)", [(k, _json(v)) for k, v in
                                                          {"format": FORMAT, "created": time.time(), **meta}.items()])
        db.execute("COMMIT")
        db.close()
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return cls.open(directory)

    @classmethod
    def open(cls, directory):
        """Open the database of the study in ``directory``; raises SearchError if it is not a study."""
        path = os.path.join(directory, FILE)
        if not os.path.isfile(path):
            raise SearchError(f"{directory} is not a study directory (no {FILE})")
        db = sqlite3.connect(path, timeout=30)
        try:
            fmt = db.execute("SELECT value FROM study WHERE key = 'format'").fetchone()
        except sqlite3.DatabaseError as e:
            db.close()
            raise SearchError(f"{path} is not a descend study database ({e})") from None
        if fmt is None or json.loads(fmt[0]) != FORMAT:
            db.close()
            raise SearchError(f"{path} is not a descend study database (format {fmt and fmt[0]})")
        return cls(directory, db)

    def get(self, key, default=None):
        """The study value stored under ``key``."""
        row = self.db.execute("SELECT value FROM study WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def put(self, key, value):
        """Store the study value ``key`` (one transaction)."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO study VALUES (?, ?)", (key, _json(value)))

    def save(self, *trials):
        """Write the rows of ``trials`` (one transaction)."""
        rows = [(t.index, t.state, strict(t.value), _json(t.params), t.seed, t.rung, _json(t.rungs), t.epochs,
                 _json(t.metrics), t.error, t.started, t.finished, t.seconds, t.attempts,
                 os.path.relpath(t.run_dir, self.directory)) for t in trials]
        with self.db:
            self.db.executemany(f"INSERT OR REPLACE INTO trials ({', '.join(COLUMNS)}) VALUES "
                                f"({', '.join('?' * len(COLUMNS))})", rows)

    def trials(self):
        """Every trial, by index."""
        out = []
        for r in self.db.execute(f"SELECT {', '.join(COLUMNS)} FROM trials ORDER BY trial"):
            d = dict(zip(COLUMNS, r))
            out.append(Trial(index=d["trial"], params=json.loads(d["params"]), seed=d["seed"], state=d["state"],
                             rung=d["rung"], rungs=json.loads(d["rungs"]), epochs=d["epochs"],
                             metrics=json.loads(d["metrics"]), error=d["error"], started=d["started"],
                             finished=d["finished"], seconds=d["seconds"], attempts=d["attempts"],
                             run_dir=os.path.join(self.directory, d["run_dir"])))
        return out

    def close(self):
        """Close the connection."""
        self.db.close()
