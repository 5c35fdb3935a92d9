"""Recurring charges: series of expenses from one merchant at a regular interval, computed on demand."""
