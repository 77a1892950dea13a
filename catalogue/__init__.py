"""The catalogue: stores' items and first-class brands"""
