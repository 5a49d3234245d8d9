"""Priority bands of table 0, lowest to highest. Bands never overlap."""

TABLE_MISS = 0
BASELINE_DROP = 10  # broadcast arriving on a non-tree port, IPv6
BASELINE_FLOOD = 100  # spanning-tree broadcast
BASELINE_UNICAST = 1_000  # reactive shortest path
RESERVATION = 20_000  # stitched segments (requests, forecasts, intents)
RESERVATION_PROTOCOL = 20_010  # a reservation of one IP protocol wins over an all-IPv4 one
RESERVATION_SERVICE = 20_020  # ... and one of a service port over both
CONTROL = 60_000  # LLDP and ARP to the controller
ARP_RESPONDER = 61_000  # a stitched pair's ARP answered at its ingress switch
ISOLATION = 65_000  # isolation drops win over everything else
