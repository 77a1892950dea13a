"""Friends: profiles, invitations, friendships, blocks and favourite shops"""
