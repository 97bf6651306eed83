"""Writes.  Builders (``rollouts``, ``argocd``, ``helm``, ``cnpg``, ``s3``, ``velero``, ``gitops``) read what they need
and return an :class:`~cockpit.actions.requests.Action` holding the exact requests; only
:class:`~cockpit.actions.gateway.Gateway` sends them (read-only, RBAC pre-check, dry-run, audit).
``registry`` names every action for runbook files.  Nothing here imports Textual.
"""
