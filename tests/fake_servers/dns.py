"""A fake DNS and route table: public-looking names and addresses that lead to loopback test servers."""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence

from aiohttp.abc import AbstractResolver, ResolveResult


def answer(hostname: str, address: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return ResolveResult(
        hostname=hostname, host=address, port=port, family=family, proto=0, flags=socket.AI_NUMERICHOST
    )


class FakeDNS(AbstractResolver):
    """Answers from a table, name -> addresses; records every question; unknown names do not exist."""

    def __init__(self, records: Mapping[str, Sequence[str]]) -> None:
        self.records = dict(records)
        self.questions: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.questions.append(host)
        if host not in self.records:
            raise OSError(socket.EAI_NONAME, "Name or service not known")
        return [answer(host, address, port) for address in self.records[host]]

    async def close(self) -> None:
        pass


class LoopbackRoutes(AbstractResolver):
    """Sits above the guard: an address the guard passed is dialled at a loopback port instead.

    This stands in for the internet, so public controls reach a local server through the same guard.
    """

    def __init__(self, inner: AbstractResolver, routes: Mapping[str, int]) -> None:
        self._inner = inner
        self.routes = dict(routes)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        return [
            answer(host, "127.0.0.1", self.routes[a["host"]]) if a["host"] in self.routes else a
            for a in answers
        ]

    async def close(self) -> None:
        await self._inner.close()
