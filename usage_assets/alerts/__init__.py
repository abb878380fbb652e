"""Telling people: alert and delivery messages, and sending them to Slack and by e-mail.

No Dagster here: :mod:`messages` builds a :class:`messages.Message` from plain values,
:mod:`slack` and :mod:`mail` send it (each escaping untrusted text for its medium),
:mod:`headline` reads a day's headline numbers from the lake. The sensors that decide
when to send live in ``usage_assets/defs/automation/``.
"""
