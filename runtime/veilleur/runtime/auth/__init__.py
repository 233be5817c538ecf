"""Accounts, roles, groups and profiles, sessions and machine tokens, and the audit log."""
