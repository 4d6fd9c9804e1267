"""Matching: signals, rules, verdicts, evaluation against labelled data (floor 2: imports only core).

- `matching.run.run_matching(db, config, full=False)` examines new and changed listings and writes findings.
- `matching.evaluate.evaluate(db, labels_path, min_score=...)` scores findings against a labels CSV.
- `matching.assess.assess(facts, ctx)` runs one listing through every signal and the rules, without a database.
- `matching.signals` holds the signals, `matching.verdicts` the rules and RULE_SET_VERSION.
"""
