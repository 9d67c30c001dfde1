"""The local devnet: anvil from npm, log-emitting contracts at the protocol's addresses, and a seeded market
simulator built on the models/ engine that writes a SynFutures-shaped history to it."""
