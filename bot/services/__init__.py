"""What the web layer and the command line both do for staff: accounts and tokens, meetings and
broadcasts, follow-ups ("you said, we did"), review of responses, export and charts.

Each module takes a `Runtime` and plain values and returns plain values or rows, so a form, a
JSON API call and a CLI command share one implementation and one set of rules.
"""
