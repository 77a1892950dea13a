"""Rewards: redemption codes, purchases, attribution and the points ledger"""
