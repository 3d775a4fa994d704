"""What the reliability tests and ``bench/reliability.py`` share: a generated news site
of about sixty articles a day, ``monitor run`` as a real subprocess that can be stopped
at a named point and killed with SIGKILL, a PostgreSQL cluster of our own (to stop in
the middle of a run), and a snapshot of everything a user sees — articles, stories,
alerts, counts, emails — with the database ids replaced by URLs, so two databases
compare equal exactly when they hold the same things.

The site (:func:`build_site`) is generated, seeded, from the words of two off-topic
fixture pages, so its articles are not near-copies of each other: per day it has
``per_day`` stories over four feeds (tariff figures that move, TSMC in Arizona, export
controls, the CHIPS Act, MediaTek, off-topic items), one syndicated copy in every ten
(identical text, another outlet) and one tracking-parameter repost of the same URL in
every ten.
"""

from __future__ import annotations

import email
import email.policy
import os
import pwd
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from html import escape
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "site" / "articles"
DAY1 = date(2026, 11, 2)
DAY2 = date(2026, 11, 3)
FEEDS = ("Formosa Wire", "Pacific Trade Ledger", "Harbor Times", "Strait Business Review")
PAUSE_POINTS = (
    "collect:batch",
    "collect:mid",
    "collect:done",
    "fetch:batch",
    "fetch:mid",
    "fetch:done",
    "store:mid",
    "store:commit",
    "store:done",
    "detect:mid",
    "detect:done",
    "send:done",
)
TARIFFS = (20, 15, 15, 10, 10, 12, 12, 25, 15, 10)
_TOPIC_WORDS = re.compile(
    r"taiwan|taipei|chip|semiconductor|tariff|trade|export|arizona|tsmc|washington|"
    r"united|states|america|invest|levy|duties|fed\b|federal|reserve|rate|percent|"
    r"billion|million|\d",
    re.IGNORECASE,
)


# -- the generated site ----------------------------------------------------------------


def _vocabulary() -> list[str]:
    words: set[str] = set()
    for name in ("typhoon-taipei.html", "fed-holds-rates.html"):
        html = (FIXTURES / name).read_text(encoding="utf-8")
        body = re.sub(r"<[^>]+>", " ", html.split("<article>", 1)[-1].split("</article>", 1)[0])
        for word in re.findall(r"[a-z]{4,}", body.lower()):
            if not _TOPIC_WORDS.search(word):
                words.add(word)
    return sorted(words)


def _filler(rng: random.Random, vocabulary: list[str], words: int) -> str:
    picked = [rng.choice(vocabulary) for _ in range(words)]
    return " ".join(picked).capitalize() + "."


@dataclass(frozen=True, slots=True)
class _Story:
    slug: str
    title: str
    outlet: str
    published: datetime
    paragraphs: tuple[str, ...]
    summary: str


def _story(day: date, n: int, vocabulary: list[str]) -> _Story:
    rng = random.Random(f"{day.isoformat()}-{n}")
    kind = n % 6
    tag = f"{rng.choice(vocabulary)} {rng.choice(vocabulary)}"
    tariff = TARIFFS[(n + day.toordinal()) % len(TARIFFS)]
    leads = {
        0: (
            f"Taiwan and US tariff talks on chips turn to {tag}",
            "Taiwanese semiconductor exporters and officials in Taipei weighed the latest "
            "United States tariff terms for chips on Monday.",
            f"Under the current terms, Taiwanese chip exports face a {tariff} percent tariff.",
        ),
        1: (
            f"TSMC Arizona fab plans meet {tag}",
            "TSMC, the Taiwan Semiconductor Manufacturing Company, said its Arizona chip "
            "plants in the United States keep to schedule.",
            "The investment in the Arizona fabs is unchanged, a spokesperson said in Taipei.",
        ),
        2: (
            f"US export controls on AI chips weigh on Taiwan suppliers, {tag}",
            "Washington widened export controls on advanced chips, and Taiwanese "
            "semiconductor suppliers in Taipei studied the new rules.",
            "The export controls add chipmaking tools to the entity list, officials said.",
        ),
        3: (
            f"CHIPS Act grants reach Taiwan chipmakers' US projects, {tag}",
            "Grants under the CHIPS Act reached semiconductor projects that Taiwanese "
            "companies are building in the United States.",
            "The CHIPS Act money flows once construction milestones are met in Arizona.",
        ),
        4: (
            f"MediaTek weighs US tariff exposure on Taiwan chips, {tag}",
            "MediaTek said United States tariff terms on Taiwanese semiconductors would "
            "shape its pricing for chips next year, speaking in Hsinchu.",
            "Analysts in Taipei said the tariff question hangs over every chip designer.",
        ),
        5: (
            f"Night market vendors adapt to {tag}",
            "Vendors at a night market changed their opening hours after a week of rain.",
            "Visitors said the new hours suited families and late workers alike.",
        ),
    }
    title, lead, point = leads[kind]
    paragraphs = (
        lead,
        _filler(rng, vocabulary, 45),
        point + " " + _filler(rng, vocabulary, 30),
        _filler(rng, vocabulary, 45),
        _filler(rng, vocabulary, 35),
    )
    return _Story(
        slug=f"{day.isoformat()}-{n:03d}",
        title=title[0].upper() + title[1:],
        outlet=FEEDS[n % len(FEEDS)],
        published=datetime.combine(day, datetime.min.time(), UTC) + timedelta(minutes=20 * n),
        paragraphs=paragraphs,
        summary=lead,
    )


def _page(story: _Story, slug: str, outlet: str) -> str:
    body = "\n".join(f"      <p>{escape(p)}</p>" for p in story.paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{escape(story.title)} | {escape(outlet)}</title>
  <link rel="canonical" href="{{{{BASE}}}}/articles/{slug}.html">
  <meta property="og:title" content="{escape(story.title)}">
  <meta property="og:site_name" content="{escape(outlet)}">
  <meta property="article:published_time" content="{story.published.isoformat()}">
</head>
<body>
  <header><a href="/">{escape(outlet)}</a></header>
  <main>
    <article>
      <h1>{escape(story.title)}</h1>
{body}
    </article>
  </main>
  <footer><p>Copyright {escape(outlet)}.</p></footer>
</body>
</html>
"""


def _item(title: str, link: str, guid: str, published: datetime, summary: str) -> str:
    return (
        f"    <item><title>{escape(title)}</title><link>{escape(link)}</link>"
        f'<guid isPermaLink="false">{escape(guid)}</guid>'
        f"<pubDate>{published.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
        f"<description>{escape(summary)}</description></item>\n"
    )


def build_site(root: Path, days: tuple[date, ...] = (DAY1,), per_day: int = 60) -> Path:
    """Write the generated site under ``root`` (articles/, feeds/feed-<k>.xml)."""
    vocabulary = _vocabulary()
    (root / "articles").mkdir(parents=True, exist_ok=True)
    (root / "feeds").mkdir(parents=True, exist_ok=True)
    items: dict[int, list[str]] = {k: [] for k in range(len(FEEDS))}
    for day in days:
        for n in range(per_day):
            story = _story(day, n, vocabulary)
            k = n % len(FEEDS)
            (root / "articles" / f"{story.slug}.html").write_text(
                _page(story, story.slug, story.outlet), encoding="utf-8"
            )
            link = f"{{{{BASE}}}}/articles/{story.slug}.html"
            items[k].append(_item(story.title, link, story.slug, story.published, story.summary))
            if n % 10 == 3:  # a syndicated copy: same text, another outlet and URL
                other = (k + 1) % len(FEEDS)
                slug = f"{story.slug}-syndicated"
                (root / "articles" / f"{slug}.html").write_text(
                    _page(story, slug, FEEDS[other]), encoding="utf-8"
                )
                items[other].append(
                    _item(
                        story.title,
                        f"{{{{BASE}}}}/articles/{slug}.html",
                        slug,
                        story.published + timedelta(minutes=7),
                        story.summary,
                    )
                )
            if n % 10 == 7:  # the same URL again, with tracking parameters
                other = (k + 2) % len(FEEDS)
                items[other].append(
                    _item(
                        story.title,
                        link + "?utm_source=repost&amp;utm_medium=rss",
                        f"{story.slug}-repost",
                        story.published + timedelta(minutes=9),
                        story.summary,
                    )
                )
    for k, name in enumerate(FEEDS):
        (root / "feeds" / f"feed-{k}.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>\n'
            f"  <title>{escape(name)}</title><link>{{{{BASE}}}}/</link>\n"
            + "".join(items[k])
            + "</channel></rss>\n",
            encoding="utf-8",
        )
    return root


def write_config(directory: Path, base_url: str) -> Path:
    """A user config for the generated site: its four feeds, private addresses allowed."""
    lines = [
        f"data_dir: {directory / 'var'}",
        "http:",
        "  allow_private_addresses: true",
        "  timeout_seconds: 10",
        "  per_host_delay_seconds: 0",
        "  backoff_seconds: 0.05",
        "  max_concurrency: 4",
        "  per_host_concurrency: 4",
        "feeds:",
    ]
    for k, name in enumerate(FEEDS):
        lines += [f"  - name: {name}", f"    url: {base_url}/feeds/feed-{k}.xml"]
    lines += [
        "alerts:",
        "  recipients: [analyst@example.org]",
        "  sender: monitor@example.org",
    ]
    path = directory / "monitor.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- monitor run as a subprocess -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunOutcome:
    returncode: int | None  # None: killed
    paused: bool
    stdout: str
    stderr: str
    seconds: float


def monitor_env(config: Path, db_url: str, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MONITOR_") and k not in ("PYTHONPATH",)
    }
    env.update(
        PYTHONPATH=str(ROOT / "src"),
        MONITOR_CONFIG=str(config),
        MONITOR_DATABASE_URL=db_url,
        PYTHONWARNINGS="ignore",
    )
    env.update(extra)
    return env


def start_run(env: dict[str, str], day: date, logs: Path, *, pause_at: str | None = None) -> Any:
    """``monitor run --date DAY`` started in the background (output to files in ``logs``)."""
    run_env = dict(env)
    if pause_at:
        run_env["MONITOR_TEST_PAUSE_AT"] = pause_at
    logs.mkdir(parents=True, exist_ok=True)
    stamp = f"{time.monotonic_ns()}"
    out = (logs / f"{stamp}.out").open("w+b")
    err = (logs / f"{stamp}.err").open("w+b")
    process = subprocess.Popen(
        [sys.executable, "-c", "from monitor.cli import main; main()", "run"]
        + ["--date", day.isoformat()],
        env=run_env,
        stdout=out,
        stderr=err,
        cwd=str(ROOT),
    )
    process.out_file, process.err_file, process.started = out, err, time.monotonic()
    return process


def finish(process: Any, *, timeout: float = 120) -> RunOutcome:
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    return _outcome(process, code, paused=False)


def _outcome(process: Any, code: int | None, *, paused: bool) -> RunOutcome:
    texts = []
    for handle in (process.out_file, process.err_file):
        handle.seek(0)
        texts.append(handle.read().decode("utf-8", "replace"))
        handle.close()
    return RunOutcome(code, paused, texts[0], texts[1], time.monotonic() - process.started)


def run_once(env: dict[str, str], day: date, logs: Path, timeout: float = 120) -> RunOutcome:
    return finish(start_run(env, day, logs), timeout=timeout)


def run_and_kill_at(
    env: dict[str, str], day: date, point: str, logs: Path, timeout: float = 120
) -> RunOutcome:
    """Run until the process stops itself at ``point``, then SIGKILL it there."""
    process = start_run(env, day, logs, pause_at=point)
    deadline = time.monotonic() + timeout
    while True:
        pid, status = os.waitpid(process.pid, os.WUNTRACED | os.WNOHANG)
        if pid and os.WIFSTOPPED(status):
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return _outcome(process, None, paused=True)
        if pid:  # exited without reaching the point
            process.returncode = os.waitstatus_to_exitcode(status)
            return _outcome(process, process.returncode, paused=False)
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise TimeoutError(f"monitor run never reached {point}")
        time.sleep(0.02)


def kill_after(env: dict[str, str], day: date, seconds: float, logs: Path) -> RunOutcome:
    """Run and SIGKILL the process after ``seconds`` (or let it finish first)."""
    process = start_run(env, day, logs)
    try:
        code = process.wait(timeout=seconds)
        return _outcome(process, code, paused=False)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return _outcome(process, None, paused=True)


# -- our own PostgreSQL ----------------------------------------------------------------


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


class PgCluster:
    """A throw-away PostgreSQL cluster on a free port in a temp dir (never the shared
    one): ``start()``, ``stop()`` (fast shutdown: sessions are cut), ``start()`` again."""

    def __init__(self, directory: Path, port: int) -> None:
        self.bin = _pg_bin()
        if self.bin is None:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
        self.directory = directory
        self.data = directory / "data"
        self.port = port
        self._user = "postgres" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/monitor"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._user:
            command = ["runuser", "-u", self._user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def init(self) -> PgCluster:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._user:
            info = pwd.getpwnam(self._user)
            os.chown(self.directory, info.pw_uid, info.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()
        admin = create_engine(
            f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres",
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE monitor"))
        admin.dispose()
        return self

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory}"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.directory / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.directory, ignore_errors=True)


# -- what a user sees, without database ids --------------------------------------------


@dataclass
class Snapshot:
    tables: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    emails: list[tuple[str, str]] = field(default_factory=list)


COUNTED = (
    "entries",
    "articles",
    "stories",
    "alerts",
    "alert_articles",
    "keyword_mentions",
    "figure_readings",
    "doc_signatures",
    "article_versions",
)


def snapshot(db_url: str, outbox: Path) -> Snapshot:
    engine = create_engine(db_url)
    try:
        with engine.connect() as c:

            def rows(sql: str) -> list[tuple[Any, ...]]:
                return [tuple(r) for r in c.execute(text(sql))]

            urls = dict(rows("SELECT id, canonical_url FROM articles"))
            seeds = dict(rows("SELECT id, name FROM seed_documents"))
            story_members: dict[int, list[str]] = {}
            for story_id, url in rows("SELECT story_id, canonical_url FROM articles"):
                story_members.setdefault(story_id, []).append(url)

            def doc(key: str | None) -> str | None:
                if not key:
                    return key
                kind, _, number = key.partition(":")
                table = urls if kind == "article" else seeds
                return f"{kind}:{table.get(int(number), number)}"

            def unid(value: str) -> str:  # "article:12", "alert #3" inside keys and notes
                value = re.sub(r"(article|seed):(\d+)", lambda m: doc(m.group(0)) or "", value)
                return re.sub(r"#\d+", "#", value)

            shot = Snapshot()
            article_rows = rows(
                "SELECT canonical_url, title, source, run_date, relevant, dedup_rule, "
                "dedup_match, version, story_id, signals_at FROM articles"
            )
            shot.tables["articles"] = sorted(
                (
                    url,
                    title,
                    src,
                    str(day),
                    bool(relevant),
                    rule,
                    doc(match),
                    version,
                    tuple(sorted(story_members.get(story, []))),
                    counted is not None,
                )
                for url, title, src, day, relevant, rule, match, version, story, counted in (
                    article_rows
                )
            )
            shot.tables["entries"] = sorted(
                (guid, state, urls.get(article_id), page_status, text_source)
                for guid, state, article_id, page_status, text_source in rows(
                    "SELECT guid, state, article_id, page_status, text_source FROM entries"
                )
            )
            shot.tables["stories"] = sorted(
                (
                    tuple(sorted(story_members.get(sid, []))),
                    seeds.get(seed_id),
                    urls.get(canonical),
                    first_outlet,
                    outlets,
                    copies,
                )
                for sid, seed_id, canonical, first_outlet, outlets, copies in rows(
                    "SELECT id, seed_id, canonical_article_id, first_outlet, outlets, copies "
                    "FROM stories"
                )
            )
            shot.tables["alerts"] = sorted(
                (
                    unid(key),
                    rule,
                    keyword,
                    status,
                    unid(summary),
                    str(run_date),
                    str(day),
                    urls.get(article_id),
                    unid(note or ""),
                )
                for key, rule, keyword, status, summary, run_date, day, article_id, note in rows(
                    "SELECT key, rule, keyword, status, summary, run_date, day, article_id, "
                    "note FROM alerts"
                )
            )
            shot.tables["mentions"] = sorted(
                (doc(key), keyword, count, str(day))
                for key, keyword, count, day in rows(
                    "SELECT doc_key, keyword, count, day FROM keyword_mentions"
                )
            )
            shot.tables["figures"] = sorted(
                (doc(key), seq, item, value, unit, status)
                for key, seq, item, value, unit, status in rows(
                    "SELECT doc_key, seq, item, value, unit, status FROM figure_readings"
                )
            )
            for table in COUNTED:
                shot.counts[table] = int(c.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar())
    finally:
        engine.dispose()
    shot.emails = sorted(_email(path) for path in sorted(outbox.glob("*.eml")))
    return shot


def _email(path: Path) -> tuple[str, str]:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(("plain",))
    body = part.get_content() if part is not None else ""
    return str(message["Subject"]), re.sub(r"#\d+", "#", body)


@dataclass(frozen=True, slots=True)
class Verdict:
    lost: int  # articles, entries' outcomes, alerts or emails of the reference missing
    duplicate_rows: int  # rows beyond the reference's, over the counted tables
    duplicate_emails: int  # emails beyond the reference's
    differences: tuple[str, ...]

    @property
    def equal(self) -> bool:
        return not self.differences


def compare(reference: Snapshot, found: Snapshot) -> Verdict:
    differences: list[str] = []
    lost = 0
    for name, want in reference.tables.items():
        got = found.tables.get(name, [])
        missing = Counter(want) - Counter(got)
        extra = Counter(got) - Counter(want)
        if name in ("articles", "alerts"):
            lost += sum(missing.values())
        for row in list(missing)[:3]:
            differences.append(f"{name}: missing {row}")
        for row in list(extra)[:3]:
            differences.append(f"{name}: unexpected {row}")
    duplicate_rows = sum(max(0, found.counts.get(t, 0) - n) for t, n in reference.counts.items())
    for table, n in reference.counts.items():
        if found.counts.get(table, 0) != n:
            differences.append(f"{table}: {found.counts.get(table, 0)} rows, expected {n}")
    mails_missing = Counter(reference.emails) - Counter(found.emails)
    mails_extra = Counter(found.emails) - Counter(reference.emails)
    lost += sum(mails_missing.values())
    if mails_missing or mails_extra:
        differences.append(
            f"emails: {sum(mails_missing.values())} missing, {sum(mails_extra.values())} extra "
            f"({[s for s, _ in mails_extra]})"
        )
    return Verdict(lost, duplicate_rows, sum(mails_extra.values()), tuple(differences))


def create_database(admin_url: str, name: str) -> str:
    """A fresh database ``name`` on the server of ``admin_url``; returns its URL."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        admin.dispose()


def drop_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
