"""The detect stage: from stored articles to what they say and what is worth an alert.

``figures`` reads the tracked figures an article states (the US tariff on Taiwan, TSMC's
US investment…) with their status (current, threat, old) and the words that tied each
number to its item; ``phrasing`` is the sentence structure it reads (clauses, stated
changes, status words) and ``numbers`` the number grammar.
"""
