"""Insights: what changed in the user's money, found by generators and told before they ask."""
