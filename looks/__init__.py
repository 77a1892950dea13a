"""Looks: outfits users post, tagged with catalogue items and brands"""
