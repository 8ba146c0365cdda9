"""Who asks for work: the address a request comes from, and the client identity it carries.

Admission (runs, computations) and rooms count twice: per client and per address. The students
of a classroom reach the server through one address (the school's NAT), each page with its own
identity, so each student is held to the per-client limits while the address as a whole is held
to larger ones. An identity is the caller's to choose (`X-Client-Id`, or the cookie the server
gave the page), so the per-address limits are what bound one caller, however many identities it
makes up. (`backend.api.ownership.client_of` reads one from a request.)
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Client:
    address: str
    identity: str

    @property
    def key(self) -> str:
        """This client's name in counters: its address and a digest of its identity, which is
        not kept (it lists the client's runs)."""
        return f"{self.address}/{hashlib.sha256(self.identity.encode()).hexdigest()[:32]}"


def limit_reached(held: Iterable[Client], client: Client, per_client: int,
                  per_address: int) -> Literal["client", "address"] | None:
    """Whose limit `client` has reached, `held` naming the holder of each thing held (a run, a
    computation, a room): its own first, then its address's; None when neither."""
    holders = list(held)
    if holders.count(client) >= per_client:
        return "client"
    if sum(holder.address == client.address for holder in holders) >= per_address:
        return "address"
    return None
