"""``make demo`` starts from an empty database: refuse a MONITOR_DATABASE_URL one that
already holds monitor data, rather than mixing the demo into it (or wiping it).

Prints the database the demo will use; exits 1 with a message saying what to do when
that database is not empty. Without MONITOR_DATABASE_URL the demo uses
``var/demo/monitor.db``, which ``make demo`` deletes first.
"""

from __future__ import annotations

import os
import sys

from sqlalchemy import inspect, text

from monitor.display import plural
from monitor.storage import Store


def main() -> int:
    url = os.environ.get("MONITOR_DATABASE_URL")
    if not url:
        print("demo database: var/demo/monitor.db (SQLite, emptied)")
        return 0
    store = Store(url)
    shown = store.safe_url
    try:
        with store.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            counts = {
                name: conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
                for name in ("articles", "alerts", "feeds")
                if name in tables
            }
    finally:
        store.close()
    held = {name: n for name, n in counts.items() if n}
    if held:
        what = ", ".join(plural(n, name.removesuffix("s")) for name, n in held.items())
        print(
            f"make demo: MONITOR_DATABASE_URL points at {shown}, which already holds monitor "
            f"data ({what}). The demo starts from an empty database and never wipes yours: "
            "point MONITOR_DATABASE_URL at an empty database (e.g. `createdb monitor_demo`) "
            "or unset it to use var/demo/monitor.db.",
            file=sys.stderr,
        )
        return 1
    print(f"demo database: {shown} (empty)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
