"""Recipes as data: the defaults a run trains with, each citing where it comes from."""
