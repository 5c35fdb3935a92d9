"""Sync and import: statement files and network providers feed one pipeline."""
