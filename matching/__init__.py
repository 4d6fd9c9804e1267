"""Matching: signals, rules, verdicts, evaluation against labelled data (floor 2: imports only core).

- `matching.run.run_matching(db, config, full=False)` examines new and changed listings and writes findings,
  then regroups sellers into networks.
- `matching.evaluate.evaluate(db, labels_path, min_score=...)` scores findings against a labels CSV.
- `matching.assess.assess(facts, ctx)` runs one listing through every signal and the rules, without a database.
- `matching.signals` holds the signals, `matching.verdicts` the rules and RULE_SET_VERSION.
- `matching.references` the reference photos and their crop/tilt views; `matching.confirm` the keypoint check of
  borderline photo pairs; `matching.index.HashIndex` near-duplicate look-ups at a million hashes.
- `matching.past` reviewers' decisions and takedowns; `matching.flood` the flood guard; `matching.clusters` seller
  networks (`network_of` for the review queue); `matching.contacts` contact details in scraped text.
"""
