"""Several render machines driven from one controller, frame-locked by time (issue 11).

``clock`` owns where a machine's shared time comes from (PTP, chrony, the system clock)
and how well it is synchronised; the controller/node protocol builds on it.
"""
