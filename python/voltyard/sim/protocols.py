"""Which OCPP version each simulated charger speaks: `--protocol 1.6|2.0.1|2.1`, or a mix with shares.

A charger offers the websocket subprotocols of its versions (`ocpp1.6`, `ocpp2.0.1`, `ocpp2.1`) and speaks
the one the central system picks. A fleet given one version forces it on every charger; a mix such as
`1.6:50,2.0.1:40,2.1:10` gives each version its share of the fleet, spread evenly across the charger
indexes (so a scenario that singles out "the first third" of the fleet still meets every version).
"""

from __future__ import annotations

from voltyard.errors import ConfigError
from voltyard.ocpp.codec import OCPP_VERSIONS

__all__ = ["DEFAULT_PROTOCOLS", "ProtocolMix", "assign", "parse_protocol", "subprotocol", "version_of"]

DEFAULT_PROTOCOLS: tuple[str, ...] = ("1.6",)
# (version, share) in the order given; shares are positive whole numbers, they need not add up to 100.
ProtocolMix = tuple[tuple[str, int], ...]


def subprotocol(version: str) -> str:
    return f"ocpp{version}"


def version_of(offered: str | None) -> str | None:
    """The OCPP version of a subprotocol the server answered with (None: none or not one of ours)."""
    if offered is None:
        return None
    name = offered.strip()
    version = name.removeprefix("ocpp")
    return version if name.startswith("ocpp") and version in OCPP_VERSIONS else None


def parse_protocol(text: str) -> ProtocolMix:
    """`2.0.1` or `1.6:50,2.0.1:40,2.1:10` -> ((version, share), ...); ConfigError names the bad part."""
    known = ", ".join(OCPP_VERSIONS)
    mix: dict[str, int] = {}
    for part in text.split(","):
        item = part.strip()
        version, _, share_text = item.partition(":")
        version = version.strip()
        if version not in OCPP_VERSIONS:
            raise ConfigError(f"--protocol {text!r}: unknown OCPP version {version!r} (known: {known})")
        share = 1
        if share_text.strip() or ":" in item:
            try:
                share = int(share_text)
            except ValueError:
                share = -1
            if share <= 0:
                raise ConfigError(
                    f"--protocol {text!r}: the share of {version} must be a whole number above 0, "
                    f"got {share_text.strip()!r}"
                )
        if version in mix:
            raise ConfigError(f"--protocol {text!r}: {version} is given twice")
        mix[version] = share
    if len(mix) > 1 and any(":" not in part for part in text.split(",")):
        raise ConfigError(f"--protocol {text!r}: a mix gives every version a share, e.g. 1.6:50,2.0.1:50")
    return tuple(mix.items())


def assign(mix: ProtocolMix, chargers: int) -> list[str]:
    """The version of each of `chargers` chargers: each version's share, spread evenly over the indexes."""
    total = sum(share for _, share in mix)
    given = dict.fromkeys((version for version, _ in mix), 0)
    versions = []
    for index in range(chargers):
        # The version furthest behind its share so far (ties: the first given) takes this charger.
        version = max(mix, key=lambda item: item[1] * (index + 1) / total - given[item[0]])[0]
        given[version] += 1
        versions.append(version)
    return versions
