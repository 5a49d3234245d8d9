"""Data-plane verification: do the switches' real tables carry what the controller planned?

``packets`` (headers and header classes), ``entries`` (flow entries as reported, matching),
``tables`` (the indexed, observed network), ``instructions`` (what an entry does), ``trace``
(hop-by-hop traces), ``outcomes`` (how a branch ended), ``checks`` (reservation and isolation
verdicts, sliceable). Pure: no Ryu, no clock.
"""
