"""The example app: organisations, their users and memberships, and an audit log."""
