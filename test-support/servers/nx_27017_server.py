"""Runs nx-27017 (a MongoDB wire-protocol server over SQLite) for DriftGuard's tests.

Usage: python nx_27017_server.py --port PORT --data-dir DIR [--host 127.0.0.1]
                                 [--remove-data-dir-on-exit]

Each logical database lives in its own SQLite file under DIR, so a test that uses a fresh
database name starts from nothing, and a server restarted on the same DIR finds the data
it had. The server exits when its standard input closes: the test process that started it
holds the other end of that pipe, so no server outlives the tests, even when the test
process is killed or never runs destructors (a server kept in a static). With
--remove-data-dir-on-exit it then deletes DIR, which such a process cannot do itself.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import threading

from neosqlite.options import JournalMode
from nx_27017.daemon import run_server_sync


def _exit_when_stdin_closes(remove: str | None) -> None:
    """Blocks until the parent closes our stdin (or dies), then ends the process at once,
    removing the data folder first when asked to."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        if remove:
            shutil.rmtree(remove, ignore_errors=True)
        os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--remove-data-dir-on-exit", action="store_true")
    options = parser.parse_args()

    data_dir = os.path.abspath(options.data_dir)
    os.makedirs(data_dir, exist_ok=True)
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    args = argparse.Namespace(
        db_path=os.path.join(data_dir, "default.db"),
        data_dir=data_dir,
        single_db_compat=False,
        host=options.host,
        port=options.port,
        journal_mode=JournalMode.validate("WAL"),
        fts5_tokenizers=None,
        threaded=False,
        verbose=False,
    )
    remove = data_dir if options.remove_data_dir_on_exit else None
    threading.Thread(
        target=_exit_when_stdin_closes, args=(remove,), daemon=True
    ).start()
    run_server_sync(args)


if __name__ == "__main__":
    main()
