"""phase1"""
