"""A news site spread over many hosts: one :class:`fixture_site.FixtureSite` per loopback
address 127.0.0.2, 127.0.0.3, … (Linux routes all of 127.0.0.0/8 to loopback), all on
one port, each serving the same folder with ``{{BASE}}`` as its own address. An outlet
whose feed is read from host *i* links its pages on host *i*, so pages fall in as many
host shards (:func:`monitor.pipeline.shard_of`) as there are outlets. The monitor
reaches them with ``http.allow_private_addresses: true``, as for the one-host site.

    with MultiHostSite(root, hosts=25) as multi:
        url = multi.sites[3].url("/feeds/cna.xml")   # http://127.0.0.5:<port>/feeds/cna.xml
        multi.down(3)                                # its address refuses connections
        multi.up(3)                                  # and serves again
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from fixture_site import FixtureSite

FIRST = 2  # 127.0.0.1 stays the one-host site's


class MultiHostSite:
    """``hosts`` fixture sites on 127.0.0.2 … 127.0.0.(hosts + 1), one port."""

    def __init__(self, root: Path, hosts: int) -> None:
        if not 1 <= hosts <= 250:
            raise ValueError(f"hosts must be 1 to 250, not {hosts}")
        self.root = root
        self.hosts = hosts
        self.port = 0
        self.sites: list[FixtureSite] = []

    def address(self, i: int) -> str:
        return f"127.0.0.{FIRST + i}"

    def __enter__(self) -> MultiHostSite:
        try:
            for i in range(self.hosts):
                # The first server picks a free port; the others take the same one.
                site = FixtureSite(self.root, host=self.address(i), port=self.port)
                self.sites.append(site.__enter__())
                self.port = site.port
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        for site in self.sites:
            site.close()

    def down(self, i: int) -> None:
        """Host ``i`` stops listening: connections to it are refused."""
        self.sites[i].close()

    def up(self, i: int) -> None:
        """Host ``i`` serves again, on its address and port (a fresh request log)."""
        self.sites[i].close()
        self.sites[i] = FixtureSite(self.root, host=self.address(i), port=self.port).__enter__()
