"""The controller cluster: a replicated store on a clustered OVSDB (Raft), and leadership.

Not part of the pure core: these modules open sockets, start processes and read the clock for
timeouts. The core sees only the ``vnstitch.store.interface.Store`` protocol.
"""
