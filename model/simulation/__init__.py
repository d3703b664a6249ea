"""Simulating a solved plan (SPEC §8): does it keep its promise?"""
