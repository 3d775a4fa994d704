"""The alert rules that need more than a count: one module per rule, holding its
detection and its card text (``figure_change``: a tracked figure's corroborated move).
The counting rules (first mention, spike, drop, co-occurrence) are in monitor.changes.
"""
